"""Derived queries over runs: derived columns, the scanning reference, usage, comparison candidates, fleet views."""
