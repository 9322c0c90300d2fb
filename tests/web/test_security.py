"""What an operator's browser receives: no secret, no live markup, strict headers, no 500.

Run records are written by agents on untrusted input. These tests point the app at
stores full of credentials, XSS vectors and broken files, crawl every page, API and
export the URL patterns declare, and check what comes back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import html5lib
import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from runtime_adapter.js import jsjson
from runtime_adapter.present.formatting import visible_id
from tests.factories import run_record
from tests.fixtures.crawl import app_urls
from tests.fixtures.hostile import (
    ALL_SECRETS_ID,
    ALL_VECTORS_ID,
    HOSTILE_RUN_IDS,
    SECRETS,
    XSS_VECTORS,
    broken_store,
    cycle_store,
    hostile_store,
    secret_id,
    secret_store,
    write_run,
)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


@pytest.fixture
def site(settings, tmp_path):
    """Point the default store at a fresh directory; login off unless a test turns it on."""
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    cache.clear()

    def use(directory: Path, **named: Path) -> None:
        settings.CONTROLPLANE_RUN_STORE = directory.as_uri()
        settings.CONTROLPLANE_STORES = {name: path.as_uri() for name, path in named.items()}
        cache.clear()

    return use


@pytest.fixture
def secrets_site(site, tmp_path):
    ids = secret_store(tmp_path / "runs")
    site(tmp_path / "runs")
    return ids


def script_sources(policy: str) -> set[str]:
    """Where the policy lets scripts come from (script-src, else default-src)."""
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.split()}
    return set(directives.get("script-src", directives.get("default-src", ["*"])))


def leaked(body: bytes) -> list[str]:
    text = body.decode("utf-8", "replace")
    # JSON escapes "+" and "/" nowhere, but HTML escapes nothing in these values either.
    return [secret.name for secret in SECRETS if secret.value in text or secret.value.encode() in body]


def crawl(client: Client, run_id: str, other_id: str, search: str = "secret", *, htmx: bool = True,
          seen: set[str] | None = None) -> dict[str, object]:
    """Every address for `run_id`, as a full page and as an HTMX partial; `seen` skips repeats."""
    responses = {}
    for url in app_urls(run_id, other_id, search):
        if seen is not None:
            if url in seen:
                continue
            seen.add(url)
        responses[url] = client.get(url)
        if htmx:
            responses[f"{url} (htmx)"] = client.get(url, HTTP_HX_REQUEST="true")
    return responses


# --- secrets ---------------------------------------------------------------


def test_no_page_api_export_or_report_shows_a_secret(client, secrets_site):
    responses = crawl(client, ALL_SECRETS_ID, secret_id(SECRETS[0]))
    assert len(responses) > 60
    assert [url for url, response in responses.items() if response.status_code >= 500] == []
    assert {url: leaked(r.content) for url, r in responses.items() if leaked(r.content)} == {}
    detail = responses[reverse("runs:detail", args=[ALL_SECRETS_ID])]
    assert detail.status_code == 200 and b"[REDACTED]" in detail.content


@pytest.mark.parametrize("name", ["runs:detail", "runs:api_trace", "runs:export_trace", "incidents:report_md",
                                  "incidents:api_incident"])
def test_each_secret_shape_is_redacted_on_its_own_run(client, secrets_site, name):
    found = {}
    for secret in SECRETS:
        response = client.get(reverse(name, args=[secret_id(secret)]))
        assert response.status_code == 200, (secret.name, response.status_code)
        if leaked(response.content):
            found[secret.name] = leaked(response.content)
    assert found == {}


def test_turning_redaction_off_shows_every_secret(client, secrets_site, settings):
    settings.CONTROLPLANE_REDACT_SECRETS = False
    trace = client.get(reverse("runs:api_trace", args=[ALL_SECRETS_ID]))
    assert trace.status_code == 200
    text = jsjson.dumps(trace.json())
    assert [secret.name for secret in SECRETS if secret.value not in text] == []
    page = client.get(reverse("runs:tab", args=[ALL_SECRETS_ID, "raw"]))
    assert SECRETS[0].value.encode() in page.content


def test_searching_for_part_of_a_secret_finds_nothing(client, secrets_site, settings):
    prefix = SECRETS[0].value[:14]
    api = client.get(reverse("runs:api_list"), {"q": prefix}).json()
    assert (api["total"], api["runs"]) == (0, [])
    assert leaked(client.get(reverse("runs:list"), {"q": prefix}).content) == []
    settings.CONTROLPLANE_REDACT_SECRETS = False
    shown = client.get(reverse("runs:api_list"), {"q": prefix}).json()
    assert jsjson.dumps(shown).count(secret_id(SECRETS[0])) >= 1


def test_inspect_cli_redacts_the_configured_store_like_the_web(tmp_path):
    secret_store(tmp_path / "runs")
    env = {**os.environ, "CONTROLPLANE_RUN_STORE": (tmp_path / "runs").as_uri(),
           "CONTROLPLANE_DATA_DIR": str(tmp_path / "data")}

    def summary(**extra: str) -> str:
        result = subprocess.run([sys.executable, "manage.py", "inspect", "summary", ALL_SECRETS_ID], cwd=ROOT,
                                env={**env, **extra}, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert [s.name for s in SECRETS if s.value in summary()] == []
    shown = summary(CONTROLPLANE_REDACT_SECRETS="0")
    assert SECRETS[0].value in shown


# --- hostile markup --------------------------------------------------------


def live_markup(body: bytes) -> list[str]:
    """Elements the parsed page would run or load because of run content."""
    document = html5lib.parse(body, namespaceHTMLElements=False)
    found = []
    for element in document.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        name = tag.rsplit("}", 1)[-1]
        for attribute, value in element.attrib.items():
            bare = attribute.rsplit("}", 1)[-1].lower()
            if bare.startswith("on") or bare.startswith("hx-on"):
                found.append(f"<{name} {bare}=…>")
            if bare in ("href", "src", "action", "formaction", "data") and value.strip().lower().startswith(
                    ("javascript:", "data:text/html")):
                found.append(f"<{name} {bare}={value[:40]}>")
            # The app's own hx-get links carry hostile ids percent-encoded; injected ones aim elsewhere.
            if bare.startswith("hx-") and ("logout" in value or "/admin" in value
                                           or value.strip().lower().startswith("javascript:")):
                found.append(f"<{name} {bare}={value[:40]}>")
        if name in ("script",) and "__xss" in (element.text or ""):
            found.append("<script>__xss")
        if name in ("iframe", "object", "embed", "base", "frame"):
            found.append(f"<{name}>")
        if name == "meta" and element.get("http-equiv", "").lower() == "refresh":
            found.append("<meta refresh>")
    return found


@pytest.fixture
def hostile_site(site, tmp_path):
    info = hostile_store(tmp_path / "runs")
    site(tmp_path / "runs")
    return info


def test_xss_vectors_in_every_field_and_id_are_escaped_on_every_page(client, hostile_site):
    problems: dict[str, object] = {}
    run_ids = ["xss-01", "xss-status", HOSTILE_RUN_IDS[0], "xss-02", "xss-03", "xss-branch", *HOSTILE_RUN_IDS[1:]]
    seen: set[str] = set()
    for index, run_id in enumerate(run_ids):
        other = run_ids[(index + 1) % len(run_ids)]
        # HTMX partials render the same templates: three runs are enough for them.
        for url, response in crawl(client, run_id, other, search="window", htmx=index < 3, seen=seen).items():
            if response.status_code >= 500:
                problems[url] = response.status_code
            elif response.get("Content-Type", "").startswith("text/html") and live_markup(response.content):
                problems[url] = live_markup(response.content)
    assert problems == {}


def test_the_markup_detector_sees_injected_elements():
    page = b'<p>ok</p><img src=x onerror="window.__xss(2)"><a href=" javascript:x()">a</a><div hx-get="/accounts/logout/">'
    assert live_markup(page) == ["<img onerror=…>", "<a href= javascript:x()>", "<div hx-get=/accounts/logout/>"]
    assert live_markup(b"<p>&lt;img src=x onerror=window.__xss(2)&gt;</p>") == []


def test_the_raw_vector_text_is_shown_escaped(client, hostile_site):
    response = client.get(reverse("runs:detail", args=["xss-01"]))
    assert response.status_code == 200
    assert b"&lt;script&gt;window.__xss(1)&lt;/script&gt;" in response.content
    assert b"<script>window.__xss" not in response.content


def outside_code_spans(markdown: str) -> str:
    """The Markdown prose: code spans removed (n backticks close at the next run of n), and each
    backslash escape replaced by "·", since an escaped character is literal text."""
    out, index = [], 0
    while index < len(markdown):
        if markdown[index] == "\\" and index + 1 < len(markdown):
            out.append("·")
            index += 2
            continue
        if markdown[index] != "`":
            out.append(markdown[index])
            index += 1
            continue
        run = len(markdown[index:]) - len(markdown[index:].lstrip("`"))
        fence = "`" * run
        close = index + run
        while True:
            close = markdown.find(fence, close)
            if close == -1 or markdown[close + run: close + run + 1] != "`" and markdown[close - 1] != "`":
                break
            close += run
        if close == -1:
            out.append(fence)
            index += run
        else:
            index = close + run
    return "".join(out)


def test_the_markdown_report_stays_inert_when_rendered_elsewhere(client, hostile_site):
    """Pasted into a ticket, the note must not carry raw HTML or javascript: links outside code spans."""
    problems = {}
    for run_id in [ALL_VECTORS_ID, *HOSTILE_RUN_IDS, *(f"xss-{i:02d}" for i in range(1, len(XSS_VECTORS) + 1))]:
        response = client.get(reverse("incidents:report_md", args=[run_id]), {"compare": "xss-02"})
        assert response.status_code == 200
        prose = outside_code_spans(response.content.decode())
        if "<" in prose or "](javascript:" in prose or "](data:" in prose:
            problems[run_id] = prose[:200]
    assert problems == {}


def test_the_code_span_reader_handles_longer_fences():
    assert outside_code_spans("a `x` b ``y`z`` c `open") == "a  b  c `open"
    assert outside_code_spans(r"t\`&lt;b&gt;\`\](javascript:x)") == "t·&lt;b&gt;··(javascript:x)"


@pytest.mark.parametrize("name", ["runs:api_detail", "runs:api_trace", "runs:export_trace", "runs:lineage_file",
                                  "incidents:report_md", "incidents:api_incident"])
def test_non_html_answers_are_never_served_as_html(client, hostile_site, name):
    kwargs = {"run_id": "xss-01", **({"fmt": "dot"} if name == "runs:lineage_file" else {})}
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 200
    assert not response["Content-Type"].startswith("text/html")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_lineage_svg_opened_directly_carries_no_script(client, hostile_site):
    response = client.get(reverse("runs:lineage_file", kwargs={"run_id": "xss-01", "fmt": "svg"}))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert script_sources(response["Content-Security-Policy"]) <= {"'none'", "'self'"}
    assert live_markup(response.content) == []
    assert b"<script" not in response.content.lower()


def test_unpaired_surrogates_in_a_run_do_not_break_the_list_or_the_run(client, site, tmp_path):
    write_run(tmp_path / "runs", run_record("lone", input="bad \udc00 half", metadata={"k\ud800": "v"}))
    site(tmp_path / "runs")
    for url in [reverse("runs:list"), reverse("runs:detail", args=["lone"]), reverse("runs:tab", args=["lone", "raw"]),
                reverse("incidents:report_md", args=["lone"])]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "bad \ufffd half" in response.content.decode("utf-8")


# --- broken stores ---------------------------------------------------------


@pytest.fixture
def broken_site(site, tmp_path, settings):
    settings.CONTROLPLANE_MAX_RUN_FILE_BYTES = 1024 * 1024  # the 100k-level files stay under it
    kinds = broken_store(tmp_path / "runs", oversized_bytes=1100 * 1024)
    site(tmp_path / "runs")
    return kinds


def test_the_list_of_a_broken_store_shows_every_unreadable_file_as_an_error_row(client, broken_site):
    response = client.get(reverse("runs:list"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "good" in text
    missing = [name for name in broken_site if name != "good.json" and name not in text]
    assert missing == []


@pytest.mark.parametrize(("run_id", "reason"), [
    ("corrupt", "invalid JSON"), ("truncated", "invalid JSON"), ("empty", "empty file"), ("blank", "empty file"),
    ("array", "not a run object"), ("null", "not a run object"), ("mismatch", "does not match its file name"),
    ("noid", "no string id"), ("numid", "no string id"), ("latin1", "not UTF-8"), ("nan", "invalid JSON"),
    ("deep", "nested more than 128 levels"), ("deepobj", "nested more than 128 levels"), ("oversized", "limit"),
    ("link", "symbolic links are not followed"), ("fifo", "not a regular file"), ("folder", "not a regular file"),
])
def test_each_broken_run_is_a_clear_422_page_and_api_error(client, broken_site, run_id, reason):
    page = client.get(reverse("runs:detail", args=[run_id]))
    assert page.status_code == 422
    assert reason in page.content.decode()
    api = client.get(reverse("runs:api_detail", args=[run_id]))
    assert api.status_code == 422
    assert reason in api.json()["error"]


def test_every_page_of_a_broken_store_answers_without_a_500(client, broken_site):
    statuses = {url: r.status_code for url, r in crawl(client, "good", "corrupt").items()}
    assert {url: status for url, status in statuses.items() if status >= 500} == {}
    statuses = {url: r.status_code for url, r in crawl(client, "fifo", "deep").items()}
    assert {url: status for url, status in statuses.items() if status >= 500} == {}


def test_cycles_and_self_parents_render_every_page(client, site, tmp_path):
    ids = cycle_store(tmp_path / "runs")
    site(tmp_path / "runs")
    for run_id in ids:
        statuses = {url: r.status_code for url, r in crawl(client, run_id, "root").items()}
        assert {url: status for url, status in statuses.items() if status >= 500} == {}, run_id
        for name in ("runs:detail", "runs:tree", "runs:lineage", "runs:api_tree", "incidents:detail"):
            assert client.get(reverse(name, args=[run_id])).status_code == 200, (name, run_id)
    tree = client.get(reverse("runs:api_tree", args=["ping"])).json()
    assert "lineageCycle" in jsjson.dumps(tree)


@pytest.mark.parametrize("setup", ["missing", "file", "unreadable"])
def test_an_unavailable_store_is_a_503_page_and_api_error(client, site, tmp_path, monkeypatch, setup):
    path = tmp_path / "runs"
    if setup == "file":
        path.write_text("not a directory")
    elif setup == "unreadable":
        path.mkdir()
        write_run(path, run_record("r"))
        real_scandir = os.scandir

        def refuse(target, *args):  # root reads anything: simulate the EACCES a real user gets
            if os.fsdecode(target) == os.fspath(path):
                raise PermissionError(13, "Permission denied", os.fspath(target))
            return real_scandir(target, *args)

        monkeypatch.setattr(os, "scandir", refuse)
    site(path)
    for url in (reverse("runs:list"), reverse("runs:overview"), reverse("incidents:queue")):
        assert client.get(url).status_code == 503, url
    api = client.get(reverse("runs:api_list"))
    assert api.status_code == 503 and "error" in api.json()


def test_the_same_run_id_in_two_named_stores_opens_each_stores_own_run(client, site, tmp_path):
    write_run(tmp_path / "a", run_record("dup", input="from store a"))
    write_run(tmp_path / "b", run_record("dup", input="from store b"))
    site(tmp_path / "a", b=tmp_path / "b")
    assert b"from store a" in client.get("/runs/dup/").content
    assert b"from store b" in client.get("/s/b/runs/dup/").content
    assert b"from store a" not in client.get("/s/b/runs/dup/").content


# --- ids and paths ---------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/runs/..%2F..%2Fetc%2Fpasswd/", "/runs/..%2F..%2Fetc%2Fpasswd/raw/", "/api/runs/..%2F..%2Fetc%2Fpasswd/",
    "/incidents/..%2Fsecret/", "/runs/../", "/runs/%2e%2e/", "/runs/./", "/runs/a%00b/", "/api/runs/a%00b/",
    "/runs/a%5Cb/", "/runs/..%5C..%5Cwindows/", "/runs/" + "a" * 300 + "/", "/api/runs/" + "b" * 300 + "/trace/",
])
def test_traversal_shaped_run_ids_are_refused_before_any_file_is_opened(client, secrets_site, tmp_path, monkeypatch,
                                                                          path):
    store = os.fspath(tmp_path / "runs")
    opened = []
    real_open = os.open

    def watch(target, *args, **kwargs):
        if os.fspath(target).startswith(store) or "passwd" in os.fspath(target):
            opened.append(os.fspath(target))
        return real_open(target, *args, **kwargs)

    monkeypatch.setattr(os, "open", watch)
    response = client.get(path)
    assert response.status_code == 400
    assert opened == []
    if path.startswith("/api/"):
        assert "error" in response.json()


def test_a_file_name_with_percent_signs_is_a_plain_id_not_a_path(client, site, tmp_path):
    write_run(tmp_path / "runs", run_record("..%2F..%2Fetc%2Fpasswd", input="just a strange name"))
    site(tmp_path / "runs")
    response = client.get(reverse("runs:detail", args=["..%2F..%2Fetc%2Fpasswd"]))
    assert response.status_code == 200
    assert b"just a strange name" in response.content


# --- headers ---------------------------------------------------------------


def test_every_response_carries_the_security_headers(client, secrets_site, django_user_model):
    urls = ["/", "/runs/", "/api/runs/", "/runs/nope/", "/api/runs/nope/", "/runs/../", "/no/such/page/",
            "/accounts/login/", "/admin/login/", "/static/css/app.css", "/static/js/app.js",
            reverse("runs:lineage_file", kwargs={"run_id": ALL_SECRETS_ID, "fmt": "svg"}),
            reverse("runs:export_trace", args=[ALL_SECRETS_ID]), reverse("incidents:report_md", args=[ALL_SECRETS_ID])]
    for url in urls:
        response = client.get(url)
        policy = response.get("Content-Security-Policy", "")
        assert script_sources(policy) in ({"'self'"}, {"'none'"}), url
        assert "'unsafe-inline'" not in " ".join(part for part in policy.split(";") if "script-src" in part)
        assert "'unsafe-eval'" not in policy
        assert response.get("X-Frame-Options") == "DENY", url
        assert response.get("X-Content-Type-Options") == "nosniff", url
        assert response.get("Referrer-Policy") == "same-origin", url


def test_production_settings_pass_the_deploy_check(tmp_path):
    env = {**os.environ, "CONTROLPLANE_SECRET_KEY": "x" * 20 + "-deploy-check-" + os.urandom(24).hex(),
           "CONTROLPLANE_DATA_DIR": str(tmp_path)}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for Playwright by tests/browser, never in deployment
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING",
         "--settings=controlplane.settings_production"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_send_hsts_and_secure_cookies(tmp_path):
    code = ("from django.conf import settings as s;"
            "print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SESSION_COOKIE_SECURE, "
            "s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.DEBUG)")
    env = {**os.environ, "CONTROLPLANE_SECRET_KEY": "k" * 60, "CONTROLPLANE_DATA_DIR": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "controlplane.settings_production"}
    result = subprocess.run([sys.executable, "-c", f"import django;django.setup();{code}"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["31536000", "True", "True", "True", "True", "False"], result.stderr


def test_production_settings_accept_only_the_configured_hosts(tmp_path):
    code = "from django.conf import settings as s;print(' '.join(s.ALLOWED_HOSTS))"
    env = {**os.environ, "CONTROLPLANE_SECRET_KEY": "k" * 60, "CONTROLPLANE_DATA_DIR": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "controlplane.settings_production"}
    env.pop("CONTROLPLANE_ALLOWED_HOSTS", None)
    result = subprocess.run([sys.executable, "-c", f"import django;django.setup();{code}"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["127.0.0.1", "localhost", "[::1]"], result.stderr


@pytest.mark.parametrize("value", ["cp.example.com", "ftp://cp.example.com", "https://cp.example.com/x?y=1",
                                   "https://"])
def test_a_base_url_that_is_not_an_http_origin_stops_startup(tmp_path, value):
    env = {**os.environ, "CONTROLPLANE_SECRET_KEY": "k" * 60, "CONTROLPLANE_DATA_DIR": str(tmp_path),
           "CONTROLPLANE_BASE_URL": value, "DJANGO_SETTINGS_MODULE": "controlplane.settings"}
    result = subprocess.run([sys.executable, "-c", "import django;django.setup()"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert f"ImproperlyConfigured: CONTROLPLANE_BASE_URL={value!r} is not an origin" in result.stderr


def test_api_errors_are_json_not_pages(client, secrets_site):
    for url in ("/api/runs/nope/", "/api/runs/a%00b/", "/api/incidents/nope/"):
        response = client.get(url)
        assert response["Content-Type"].startswith("application/json"), url
        assert json.loads(response.content)["error"]


def test_hostile_vectors_cover_the_required_kinds():
    text = "\n".join(XSS_VECTORS)
    assert len(XSS_VECTORS) >= 30
    for marker in ("<script", "onerror=", "javascript:", "<svg", "<math", '">', "{{7*7}}", "${", "hx-get", "<style",
                   "\u202e"):
        assert marker in text, marker


def test_an_upload_whose_messages_hold_an_unpaired_surrogate_is_not_a_500(client, site, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    write_run(tmp_path / "runs", run_record("r"))
    site(tmp_path / "runs")
    bundle = {"format": "agnostic-agents-trace-bundle", "schemaVersion": "9 \udc00",
              "traces": [{"format": "x", "schemaVersion": "\udc00"}]}
    response = client.post(reverse("incidents:open_bundle"),
                           {"bundle": SimpleUploadedFile("b.json", jsjson.dumps(bundle).encode(), "application/json")})
    assert 400 <= response.status_code < 500
    response.content.decode("utf-8")


def test_tree_links_to_hostile_ids_are_the_detail_urls_django_reverses(client, hostile_site):
    from html.parser import HTMLParser

    from django.urls import reverse

    class Links(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.found: dict[str, str] = {}

        def handle_starttag(self, tag, attrs):
            values = dict(attrs)
            if tag == "a" and values.get("class") == "runid" and "title" in values:
                self.found[values["title"]] = values["href"]

    parser = Links()
    parser.feed(client.get(reverse("runs:tree", args=["xss-01"])).content.decode())
    shown = {visible_id(run_id): run_id for run_id in HOSTILE_RUN_IDS}  # titles show control characters escaped
    assert set(shown) <= set(parser.found)
    for title, href in parser.found.items():
        run_id = shown.get(title, title)
        assert href == reverse("runs:detail", args=[run_id]), run_id
        assert client.get(href).status_code == 200, run_id
