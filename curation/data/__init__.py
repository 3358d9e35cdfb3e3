"""Clip data path: revision-aware dataset over the frame cache, clip transforms, weighted sampler, loaders."""
