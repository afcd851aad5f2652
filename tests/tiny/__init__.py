"""Tiny random-weight models and tokenizers built in code, for tests and benchmarks.

Nothing here downloads anything: every component is made from a small config with fixed seeds and
saved with ``save_pretrained``, so the code under test loads it the way it loads a real model.
"""
