"""Lineage node labels read at WCAG AA (4.5:1) against their fill: Graphviz's files and the inline graph's CSS, light and dark."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runtime_adapter.present.lineage import (
    EDGE_TEXT,
    MORE_COLOUR,
    MORE_TEXT,
    NODE_TEXT,
    OTHER_COLOUR,
    STATUS_COLOURS,
)

AA = 4.5
CSS = (Path(__file__).resolve().parents[2] / "static" / "css" / "app.css").read_text(encoding="utf-8")
STATUS_INKS = {"completed": "completed", "failed": "failed", "running": "running", "paused": "paused",
               "waiting_for_approval": "waiting", "cancelled": "cancelled", "pending": "pending"}


def rgb(colour: str) -> tuple[float, float, float]:
    value = colour.lstrip("#")[:6]
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


def luminance(colour: tuple[float, float, float]) -> float:
    def channel(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(value) for value in colour)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(one: tuple[float, float, float], other: tuple[float, float, float]) -> float:
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def mix(one: tuple[float, float, float], share: float, other: tuple[float, float, float]) -> tuple[float, float, float]:
    """CSS `color-mix(in srgb, one share, other)` for opaque colours."""
    return tuple(round(a * share + b * (1 - share)) for a, b in zip(one, other, strict=True))  # type: ignore[return-value]


def theme(dark: bool) -> dict[str, str]:
    light_block = CSS[CSS.index(":root {"):]
    light_block = light_block[:light_block.index("}")]
    variables = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", light_block))
    if dark:
        dark_block = CSS[CSS.index("@media (prefers-color-scheme: dark)"):]
        dark_block = dark_block[dark_block.index(":root {"):dark_block.index("}")]
        variables.update(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", dark_block))
    return variables


def node_fill_share() -> float:
    rule = re.search(r"\.lin-node rect \{ fill: color-mix\(in srgb, var\(--ink\) (\d+)%, var\(--panel\)\)", CSS)
    assert rule, "the inline graph's node fill is a tint of the status's ink on the panel"
    return int(rule.group(1)) / 100


def test_the_old_white_on_status_fills_failed_aa():
    old = {"completed": "#1f8a4c", "paused": "#b7791f", "pending": "#7b8794"}
    assert all(contrast(rgb("#ffffff"), rgb(fill)) < AA for fill in old.values())


@pytest.mark.parametrize("status", sorted(STATUS_COLOURS))
def test_graphviz_node_labels_reach_aa_on_their_status_fill(status):
    assert contrast(rgb(NODE_TEXT), rgb(STATUS_COLOURS[status])) >= AA


def test_graphviz_other_status_folds_and_edge_labels_reach_aa():
    assert contrast(rgb(NODE_TEXT), rgb(OTHER_COLOUR)) >= AA
    assert contrast(rgb(MORE_TEXT), rgb(MORE_COLOUR)) >= AA
    assert contrast(rgb(EDGE_TEXT), rgb("#ffffff")) >= AA  # the files' background is transparent: on white


def test_inline_node_labels_are_the_status_ink():
    assert re.search(r"\.lin-node text \{ fill: var\(--ink\);", CSS)
    for status, ink in STATUS_INKS.items():
        if status != "pending":
            assert f".lin-{status} {{ --ink: var(--ink-{ink}); }}" in CSS


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("status", sorted(STATUS_INKS))
def test_inline_node_labels_reach_aa_on_their_fill_in_both_themes(status, dark):
    colours = theme(dark)
    ink = rgb(colours[f"ink-{STATUS_INKS[status]}"])
    fill = mix(ink, node_fill_share(), rgb(colours["panel"]))
    assert contrast(ink, fill) >= AA, (status, dark, round(contrast(ink, fill), 2))


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_inline_fold_labels_reach_aa_in_both_themes(dark):
    colours = theme(dark)
    assert ".lin-more { --ink: var(--text); }" in CSS and ".lin-more rect { fill: var(--panel);" in CSS
    assert contrast(rgb(colours["text"]), rgb(colours["panel"])) >= AA
