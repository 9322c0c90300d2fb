"""Who can read: login by default, viewers read everything, only staff reach the admin."""

from __future__ import annotations

import re
import stat

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tests.fixtures.crawl import app_urls
from tests.fixtures.hostile import ALL_SECRETS_ID, SECRETS, secret_id, secret_store

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-test-password-1"


@pytest.fixture
def store(settings, tmp_path):
    settings.CONTROLPLANE_LOGIN_REQUIRED = True
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    secret_store(tmp_path / "runs")
    settings.CONTROLPLANE_RUN_STORE = (tmp_path / "runs").as_uri()
    cache.clear()
    return settings


@pytest.fixture
def viewer(django_user_model):
    user = django_user_model.objects.create_user("viewer", password=PASSWORD)
    user.groups.add(Group.objects.get_or_create(name="viewer")[0])
    return user


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("admin", password=PASSWORD, is_staff=True, is_superuser=True)


def urls() -> list[str]:
    return app_urls(ALL_SECRETS_ID, secret_id(SECRETS[0]))


def test_anonymous_pages_redirect_to_login_and_api_answers_401_json(client, store):
    checked = 0
    for url in urls():
        response = client.get(url)
        if url.startswith("/api/"):
            assert response.status_code == 401, url
            assert response.json() == {"error": "Authentication required."}
        else:
            assert response.status_code == 302, url
            assert response["Location"].startswith(reverse("login") + "?next="), url
        checked += 1
    assert checked > 30


def test_a_viewer_reads_every_page_and_api(client, store, viewer):
    client.force_login(viewer)
    statuses = {url: client.get(url).status_code for url in urls()}
    assert {url: status for url, status in statuses.items() if status in (302, 401, 403) or status >= 500} == {}
    assert statuses[reverse("runs:detail", args=[ALL_SECRETS_ID])] == 200
    assert statuses[reverse("runs:api_list")] == 200


def test_login_can_be_turned_off_for_anonymous_read_only_access(client, store):
    store.CONTROLPLANE_LOGIN_REQUIRED = False
    assert client.get(reverse("runs:list")).status_code == 200
    assert client.get(reverse("runs:api_detail", args=[ALL_SECRETS_ID])).status_code == 200
    assert client.post(reverse("runs:list")).status_code == 405


def test_signing_in_and_out(client, store, viewer):
    page = client.get(reverse("login"))
    assert page.status_code == 200 and b'name="password"' in page.content
    wrong = client.post(reverse("login"), {"username": "viewer", "password": "nope"})
    assert wrong.status_code == 200
    assert client.get(reverse("runs:list")).status_code == 302
    signed_in = client.post(reverse("login"), {"username": "viewer", "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in["Location"] == reverse("runs:overview")
    assert client.get(reverse("runs:list")).status_code == 200
    assert client.get(reverse("logout")).status_code == 405  # logging out is a POST, never a link
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("runs:list")).status_code == 302


def test_login_never_redirects_off_site(client, store, viewer):
    response = client.post(reverse("login") + "?next=https://evil.example/steal",
                           {"username": "viewer", "password": PASSWORD, "next": "https://evil.example/steal"})
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


def test_login_form_requires_a_csrf_token(store, viewer):
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(reverse("login"), {"username": "viewer", "password": PASSWORD}).status_code == 403
    page = browser.get(reverse("login"))
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()
    ok = browser.post(reverse("login"), {"username": "viewer", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert ok.status_code == 302


def test_session_and_csrf_cookies_are_http_only_and_same_site(client, store, viewer):
    client.get(reverse("login"))
    response = client.post(reverse("login"), {"username": "viewer", "password": PASSWORD})
    session = response.cookies["sessionid"]
    assert session["httponly"] and session["samesite"] == "Lax"


def test_only_staff_reach_the_admin(client, store, viewer, staff):
    assert client.get("/admin/").status_code == 302
    client.force_login(viewer)
    refused = client.get("/admin/", follow=True)
    assert refused.status_code == 403 and b"staff" in refused.content
    assert client.get("/admin/auth/user/").status_code == 302
    assert client.post("/admin/auth/user/add/", {"username": "x", "password1": "p" * 20,
                                                 "password2": "p" * 20}).status_code == 302
    assert not type(viewer).objects.filter(username="x").exists()
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200


def test_the_admin_has_no_login_form_of_its_own(client, store, viewer, staff):
    for username in ("viewer", "admin"):
        response = client.post("/admin/login/", {"username": username, "password": PASSWORD})
        assert response.status_code == 302 and response["Location"] == reverse("login") + "?next=/admin/"
        assert client.get("/admin/").status_code == 302
    page = client.get("/admin/login/?next=/admin/auth/user/")
    assert page["Location"] == reverse("login") + "?next=/admin/auth/user/"
    assert b'name="password"' not in page.content


@pytest.mark.parametrize("login_required", [True, False])
def test_anonymous_admin_visitors_land_on_the_sites_login_page(client, store, login_required):
    store.CONTROLPLANE_LOGIN_REQUIRED = login_required
    landed = client.get("/admin/", follow=True)
    assert landed.redirect_chain[-1][0] == reverse("login") + "?next=/admin/"
    assert landed.status_code == 200 and b'action="/accounts/login/"' in landed.content


def test_staff_sign_in_on_the_site_and_reach_the_admin(client, store, staff):
    response = client.post(reverse("login") + "?next=/admin/",
                           {"username": "admin", "password": PASSWORD, "next": "/admin/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/admin/" and response.status_code == 200
    assert client.get("/admin/login/?next=/admin/auth/user/")["Location"] == "/admin/auth/user/"
    assert client.get("/admin/login/?next=https://evil.example/")["Location"] == "/admin/"


def test_demo_user_is_a_non_staff_viewer_with_a_private_password_file(client, store, capsys):
    call_command("ensure_demo_user")
    printed = capsys.readouterr().out
    password_file = store.DATA_DIR / "demo-password"
    password = password_file.read_text().strip()
    assert password in printed
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    response = client.post(reverse("login"), {"username": "demo", "password": password})
    assert response.status_code == 302
    user = response.wsgi_request.user
    assert not user.is_staff and list(user.groups.values_list("name", flat=True)) == ["viewer"]
    assert client.get(reverse("runs:detail", args=[ALL_SECRETS_ID])).status_code == 200
    assert client.get("/admin/").status_code == 302


def test_static_files_load_without_a_login(client, store):
    assert client.get("/static/css/app.css").status_code == 200


@pytest.mark.parametrize("rest", ["", "runs/", "runs/secret-all/", "incidents/", "api/runs/", "no-such-page/",
                                  "accounts/login/"])
def test_anonymous_visitors_get_the_same_answer_for_known_and_unknown_store_names(client, store, rest):
    store.CONTROLPLANE_STORES = {"alpha": store.CONTROLPLANE_RUN_STORE}
    known = client.get(f"/s/alpha/{rest}")
    answers = {}
    for name in ("no-such-store", "upload-abcdefghijklmnopqrstuvwx"):
        unknown = client.get(f"/s/{name}/{rest}")
        answers[name] = (unknown.status_code, unknown.get("Location", "").replace(name, "alpha"), unknown.content)
    expected = (known.status_code, known.get("Location", ""), known.content)
    assert answers == {"no-such-store": expected, "upload-abcdefghijklmnopqrstuvwx": expected}
    assert known.status_code == (401 if rest.startswith("api/") else 302)


def test_anonymous_store_links_lead_to_the_sites_own_login_page(client, store):
    store.CONTROLPLANE_STORES = {"alpha": store.CONTROLPLANE_RUN_STORE}
    response = client.get("/s/alpha/runs/?q=x")
    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=/s/alpha/runs/%3Fq%3Dx"


def test_a_signed_in_viewer_learns_that_an_unknown_store_does_not_exist(client, store, viewer):
    store.CONTROLPLANE_STORES = {"alpha": store.CONTROLPLANE_RUN_STORE}
    client.force_login(viewer)
    assert client.get("/s/alpha/runs/").status_code == 200
    missing = client.get("/s/no-such-store/runs/")
    assert missing.status_code == 404 and b"No run store is named" in missing.content
    assert client.get("/s/no-such-store/api/runs/").json() == {"error": 'No run store is named "no-such-store".'}


def test_the_login_page_names_no_store_to_anonymous_visitors(client, store):
    store.CONTROLPLANE_STORES = {"alpha": store.CONTROLPLANE_RUN_STORE, "secret-staging": store.CONTROLPLANE_RUN_STORE}
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b"secret-staging" not in page.content and b"/s/alpha/" not in page.content


def fail_login(client, username: str, address: str = "10.0.0.1", password: str = "wrong-password"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_repeated_failed_logins_lock_that_account_from_that_address(client, store, viewer):
    for _ in range(5):
        assert fail_login(client, "viewer").status_code == 200
    locked = fail_login(client, "viewer", password=PASSWORD)  # even the right password now
    assert locked.status_code == 429
    assert b"Too many failed sign-in attempts" in locked.content and b"try again in 15 minutes" in locked.content
    assert client.get(reverse("runs:list")).status_code == 302
    assert fail_login(client, "viewer", address="10.0.0.2", password=PASSWORD).status_code == 302


def test_a_locked_account_does_not_lock_other_accounts_from_that_address(client, store, viewer, staff):
    for _ in range(6):
        fail_login(client, "viewer")
    assert fail_login(client, "admin", password=PASSWORD).status_code == 302


def test_one_address_failing_across_many_accounts_is_locked(client, store, viewer, settings):
    settings.CONTROLPLANE_LOGIN_MAX_FAILURES_PER_ADDRESS = 8
    for index in range(8):
        assert fail_login(client, f"guess-{index}").status_code == 200
    assert fail_login(client, "viewer", password=PASSWORD).status_code == 429
    assert fail_login(client, "viewer", address="10.0.0.9", password=PASSWORD).status_code == 302


def test_the_lock_lifts_after_the_configured_minutes(client, store, viewer, settings, monkeypatch):
    import time

    settings.CONTROLPLANE_LOGIN_MAX_FAILURES = 2
    settings.CONTROLPLANE_LOGIN_LOCKOUT_MINUTES = 3
    fail_login(client, "viewer")
    fail_login(client, "viewer")
    locked = fail_login(client, "viewer", password=PASSWORD)
    assert locked.status_code == 429 and b"try again in 3 minutes" in locked.content
    later = time.time() + 3 * 60 + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert fail_login(client, "viewer", password=PASSWORD).status_code == 302


def test_signing_in_clears_the_accounts_failures(client, store, viewer):
    for _ in range(4):
        fail_login(client, "viewer")
    assert fail_login(client, "viewer", password=PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(4):
        assert fail_login(client, "viewer").status_code == 200
    assert fail_login(client, "viewer", password=PASSWORD).status_code == 302
