from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ImproperlyConfigured

from controlplane.env import envdatetime
from tests.web.runs_support import body


def test_pinned_clock_sets_the_overview_usage_window(client, scenario, settings):
    # The corpus was written on 2026-11-24: as of a year later, the last week holds none of its runs.
    settings.CONTROLPLANE_NOW = datetime(2027, 11, 24, 12, 0, tzinfo=UTC)
    later = body(client.get("/"))
    settings.CONTROLPLANE_NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    that_day = body(client.get("/"))
    assert that_day.count('<svg class="bar-chart"') == 4
    assert later.count('<svg class="bar-chart"') < 4


def test_now_setting_reads_iso_instants_and_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("CONTROLPLANE_NOW", "2026-11-24T12:00:00Z")
    assert envdatetime("CONTROLPLANE_NOW") == datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    monkeypatch.setenv("CONTROLPLANE_NOW", "yesterday")
    with pytest.raises(ImproperlyConfigured, match="CONTROLPLANE_NOW"):
        envdatetime("CONTROLPLANE_NOW")
    monkeypatch.delenv("CONTROLPLANE_NOW")
    assert envdatetime("CONTROLPLANE_NOW") is None
