"""Direction and invisible characters in run ids are shown, never obeyed: `\u202egnp.exe` is not `exe.png`."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

import html5lib
import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.factories import run_record
from tests.fixtures.hostile import write_run
from tests.html import assert_valid_html

pytestmark = pytest.mark.django_db

SPOOF = "\u202egnp.exe"  # shows as "exe.png" when obeyed
HIDDEN = "ad\u200bmin"  # a zero-width space: looks like "admin"
ROOT = "bidi-root"
# Attributes that carry the real id to the browser, not to the eye.
MACHINE_ATTRIBUTES = {"href", "hx-get", "action", "data-copy", "value", "data-run-id"}


def invisible(text: str) -> list[str]:
    return [f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in ("Cf", "Zl", "Zp")]


def shown_text(body: bytes) -> list[tuple[str, str]]:
    """(where, text) for every text node and human-read attribute, outside raw JSON blocks."""
    found = []
    for element in html5lib.parse(body, namespaceHTMLElements=False).iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag != "pre" and element.text:
            found.append((tag, element.text))
        if element.tail:
            found.append((f"after {tag}", element.tail))
        found += [(f"{tag}[{name}]", value) for name, value in element.attrib.items() if name not in MACHINE_ATTRIBUTES]
    return found


@pytest.fixture
def bidi_site(settings, tmp_path):
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    settings.DATA_DIR = tmp_path / "data"
    runs = tmp_path / "runs"
    write_run(runs, run_record(ROOT, status="failed", children=[SPOOF, HIDDEN], input="plain task",
                               errors=[{"name": "ToolError", "message": "tool broke"}]))
    write_run(runs, run_record(SPOOF, parent=ROOT, root=ROOT, status="failed", input="plain task",
                               errors=[{"name": "ToolError", "message": "spoofed file"}]))
    write_run(runs, run_record(HIDDEN, parent=ROOT, root=ROOT, input="plain task"))
    settings.CONTROLPLANE_RUN_STORE = runs.as_uri()
    cache.clear()


@pytest.mark.parametrize("page", ["runs:list", "runs:overview", "incidents:queue", "runs:detail", "runs:tree",
                                  "runs:lineage", "incidents:detail", "compare"])
def test_ids_with_direction_or_invisible_characters_are_shown_escaped(client, bidi_site, page):
    if page == "compare":
        url = f"{reverse('incidents:compare')}?left={quote(SPOOF)}&right={quote(HIDDEN)}"
    elif page in ("runs:detail", "runs:tree", "runs:lineage", "incidents:detail"):
        url = reverse(page, args=[SPOOF])
    else:
        url = reverse(page)
    response = client.get(url)
    assert response.status_code == 200
    assert_valid_html(response.content)
    text = response.content.decode()
    assert "\\u202egnp.exe" in text
    assert {where: invisible(value) for where, value in shown_text(response.content) if invisible(value)} == {}


def test_links_to_an_escaped_id_open_the_real_run(client, bidi_site):
    listing = client.get(reverse("runs:list")).content.decode()
    href = reverse("runs:detail", args=[SPOOF])
    assert f'href="{href}"' in listing and href == f"/runs/{quote(SPOOF)}/"
    detail = client.get(href)
    assert detail.status_code == 200
    assert f'data-copy="{SPOOF}"' in detail.content.decode()  # the copy button copies the real id


def test_the_incident_note_shows_ids_escaped_and_links_them_exactly(client, bidi_site):
    note = client.get(reverse("incidents:report_md", args=[SPOOF])).content.decode()
    assert note.startswith("# Incident `\\u202egnp.exe`")
    assert f"[`\\u202egnp.exe`]({reverse('runs:detail', args=[SPOOF])})" in note
    assert "\u202e" not in note and "\u200b" not in note
