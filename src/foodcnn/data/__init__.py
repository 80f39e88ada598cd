"""Data: image sources, the one image reader, the split, the tensor cache and augmentation."""
