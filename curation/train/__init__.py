"""Training: config, loop (single process or torchrun/DDP), validation metrics, collection pass."""
