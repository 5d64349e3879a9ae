// Augmentation: transforms and the batch augmenter (issue 4).
