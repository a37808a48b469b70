"""Benchmarks (not part of the test suite): run them as scripts, e.g. ``python bench/serve.py``."""
