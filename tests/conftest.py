from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.stores import reset_stores
from runtime_adapter.collation import locale_sort_key

CONFORMANCE = Path(__file__).resolve().parent.parent.parent / "shared" / "conformance"


@pytest.fixture(autouse=True)
def _fresh_caches():
    reset_stores()
    locale_sort_key.cache_clear()
    yield
    reset_stores()


@pytest.fixture
def conformance_store_url():
    def url(scenario: str) -> str:
        path = CONFORMANCE / "stores" / scenario
        if not path.is_dir():
            pytest.skip(f"conformance store {scenario} is not present")
        return path.as_uri()

    return url
