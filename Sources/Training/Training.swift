// Training: the distributed training loop (issue 5).
