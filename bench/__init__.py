"""Benchmarks: synthetic store generation (generate.py) and the scale runs (run.py)."""
