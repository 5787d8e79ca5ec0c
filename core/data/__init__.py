"""Dataset schema and loading (ours and v0's JSONL)."""

from core.data.loader import Dataset, Pair, Text, derive_pairs, load_dataset, load_families

__all__ = ["Dataset", "Pair", "Text", "derive_pairs", "load_dataset", "load_families"]
