"""Raters of text: the rubric judge, sentence embeddings."""
