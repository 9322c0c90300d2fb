"""Benchmarks: synthetic run stores (generate.py) and the scale measurements that use them."""
