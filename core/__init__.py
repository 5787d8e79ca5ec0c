"""Core: the only package that knows models, tensors, files and storage (DESIGN §2)."""
