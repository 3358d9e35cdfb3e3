"""Video backbones (torchvision MViT) with a classification head; a tiny configuration for CPU."""
