// Datasets: loaders for the official formats, validation, sharding and epoch orders (issue 4).
