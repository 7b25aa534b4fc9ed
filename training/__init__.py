"""Corpus, fine-tuning and evaluation for the stance classifier."""
