// Engine: layers, models, gradients and SGD on the CPU (issue 3).
