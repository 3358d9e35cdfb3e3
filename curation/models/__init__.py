"""Video backbones (torchvision MViT) with a classification head; a tiny configuration for CPU."""

# The heads a classifier can have (mvit.head_for says which `auto` picks); here, without torch, for the config check.
HEADS = ("auto", "mlp", "linear")
