// Checkpoints: safetensors files and atomic checkpoint directories (issue 5).
