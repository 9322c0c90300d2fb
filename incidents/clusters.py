"""Failure clusters: the clusters page, a cluster page and their JSON API (being built)."""
