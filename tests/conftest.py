from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from controlplane.stores import reset_stores
from runtime_adapter.js.collation import locale_sort_key
from tests.conformance import CONFORMANCE_DIR, require_corpus
from tests.fixtures import readonly


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock-ahead", type=int, default=0, metavar="DAYS",
        help="run the suite with the wall clock moved DAYS ahead (time-machine moves time.time and datetime.now "
             "of this process; time.monotonic and the kernel's file times stay real)")


def pytest_configure(config: pytest.Config) -> None:
    days = config.getoption("--clock-ahead")
    if days:
        import time_machine

        traveller = time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True)
        traveller.start()
        config.stash[_TRAVELLER] = traveller


def pytest_report_header(config: pytest.Config) -> str | None:
    days = config.getoption("--clock-ahead")
    return f"clock moved {days} days ahead: now is {datetime.now(UTC).isoformat()}" if days else None


_TRAVELLER = pytest.StashKey[object]()


CONFORMANCE = CONFORMANCE_DIR
# The conformance corpus was written on 2026-11-24; pages are rendered as of that day, whatever the date.
PINNED_NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session", autouse=True)
def _shared_stores_stay_byte_for_byte_unchanged():
    """The control plane never writes to a run store: prove it for the whole suite."""
    urls = [os.environ.get("CONTROLPLANE_RUN_STORE", "")]
    urls += [item.partition("=")[2] for item in os.environ.get("CONTROLPLANE_STORES", "").split(",")]
    roots = readonly.guarded_directories(CONFORMANCE.parent, urls)
    before = {root: readonly.snapshot(root) for root in roots}
    yield
    problems = [f"{root}: {change}" for root in roots for change in readonly.changes(before[root], readonly.snapshot(root))]
    if problems:
        pytest.fail("A read-only run store was modified by the test suite:\n" + "\n".join(problems[:50]), pytrace=False)


@pytest.fixture(autouse=True)
def _pinned_clock(settings):
    settings.CONTROLPLANE_NOW = PINNED_NOW


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
        return require_corpus(path).as_uri()

    return url
