from __future__ import annotations

from runtime_adapter.present.timeline import step_timeline


def step(second: float, duration=None, status="completed", kind="model", updated=None) -> dict:
    record = {"id": f"s{second}", "type": kind, "status": status, "createdAt": f"2026-01-01T00:00:{second:06.3f}Z"}
    if duration is not None:
        record["durationMs"] = duration
    if updated:
        record["updatedAt"] = updated
    return record


def test_bars_sit_on_the_run_time_axis():
    timeline = step_timeline([step(0, 2000), step(5, 5000)], "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:10.000Z", width=1000)
    assert [(bar.x, bar.width) for bar in timeline.bars] == [(0, 200), (500, 500)]
    assert timeline.total_ms == 10_000
    assert [bar.y for bar in timeline.bars] == [16, 29]
    assert timeline.ticks[-1].x == 1000 and timeline.ticks[-1].label == "10.0 s"


def test_a_step_without_duration_ends_at_its_update():
    timeline = step_timeline([step(0, updated="2026-01-01T00:00:04.000Z")], "2026-01-01T00:00:00.000Z",
                             "2026-01-01T00:00:10.000Z", width=1000)
    assert timeline.bars[0].width == 400 and timeline.bars[0].duration_ms == 4000


def test_a_running_step_stays_open_until_the_end_of_the_axis():
    timeline = step_timeline([step(2, status="running")], "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:10.000Z", width=1000)
    bar = timeline.bars[0]
    assert bar.open and bar.x == 200 and bar.width == 800 and bar.duration_ms is None
    assert "still open" in bar.title


def test_instant_steps_stay_visible_and_inside_the_box():
    timeline = step_timeline([step(10, 0)], "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:10.000Z", width=1000)
    assert timeline.bars[0].width == 2 and timeline.bars[0].x == 998


def test_steps_without_times_and_non_dict_steps_do_not_break_the_axis():
    timeline = step_timeline([{"id": "x"}, "garbage", step(1, 1000)], None, None, width=100)
    assert [bar.width for bar in timeline.bars[:2]] == [0, 0]
    assert timeline.bars[1].kind == "step" and timeline.bars[1].status == "unknown"
    assert timeline.bars[2].width == 100


def test_a_later_page_keeps_its_step_numbers():
    timeline = step_timeline([step(1, 10)], "2026-01-01T00:00:00.000Z", None, first_index=100)
    assert timeline.bars[0].index == 100 and timeline.bars[0].title.startswith("#101 model")
