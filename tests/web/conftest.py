"""Fixtures every web test may ask for by name, without importing them."""

from tests.web.runs_support import runs_settings, scenario, tmp_runs

__all__ = ["runs_settings", "scenario", "tmp_runs"]
