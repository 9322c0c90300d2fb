"""Oversized request bodies are refused from their headers, before the server reads them."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

pytestmark = pytest.mark.django_db

HUGE = 200 * 1024 * 1024
# Any client can hold a CSRF cookie (the login page hands one out); with it, Django's CSRF
# check reads request.POST, so without a limit up front the whole body is read and spooled.
CSRF_COOKIE = "csrftoken=" + "a" * 32


@pytest.fixture
def limits(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.CONTROLPLANE_LOGIN_REQUIRED = True
    settings.CONTROLPLANE_MAX_UPLOAD_BYTES = 1024 * 1024
    return settings


def send_headers_only(url: str, request_head: str, body_start: bytes = b"--x\r\n" + b"x" * 1024,
                      timeout: float = 10) -> bytes:
    """Send a request's head and the start of its body, then read whatever the server answers."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(request_head.replace("\n", "\r\n").encode() + b"\r\n" + body_start)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except TimeoutError:
            pytest.fail(f"no answer within {timeout} s: the server is waiting for the body; got {answer[:200]!r}")
        # The rest of the answer's body, if it came in later packets (the server may then wait
        # for the request body it never read, so the connection is not closed for us).
        sock.settimeout(1)
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except TimeoutError:
            pass
        return answer


def post_head(path: str, length: int, *, cookie: str = CSRF_COOKIE,
              content_type: str = "multipart/form-data; boundary=x") -> str:
    return (f"POST {path} HTTP/1.1\nHost: 127.0.0.1\nContent-Type: {content_type}\nContent-Length: {length}\n"
            f"Cookie: {cookie}\n\n")


@pytest.mark.parametrize("path", ["/accounts/login/", "/bundles/open/", "/runs/", "/s/default/runs/", "/api/runs/"])
def test_an_anonymous_200_mb_body_is_refused_with_413_before_it_is_read(live_server, limits, path):
    answer = send_headers_only(live_server.url, post_head(path, HUGE))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]


def test_a_signed_in_users_oversized_upload_is_refused_before_it_is_read(live_server, limits):
    user = User.objects.create_user("ops", password="a long test password")
    client = Client()
    client.force_login(user)
    cookie = f"{CSRF_COOKIE}; sessionid={client.cookies['sessionid'].value}"
    answer = send_headers_only(live_server.url, post_head("/bundles/open/", 2 * 1024 * 1024 + 1, cookie=cookie))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"1,048,576-byte limit" in answer


def test_a_chunked_body_without_a_length_is_refused(live_server, limits):
    head = f"POST /accounts/login/ HTTP/1.1\nHost: 127.0.0.1\nTransfer-Encoding: chunked\nCookie: {CSRF_COOKIE}\n\n"
    answer = send_headers_only(live_server.url, head, b"fffffff\r\n" + b"x" * 1024)
    assert answer.startswith(b"HTTP/1.1 411"), answer[:300]


def test_a_login_post_over_the_small_limit_is_a_413_with_the_reason(client, limits):
    response = client.post("/accounts/login/", {"username": "x" * (100 * 1024), "password": "y"})
    assert response.status_code == 413
    assert b"accepts request bodies up to 65,536 bytes" in response.content


def test_an_api_client_gets_the_413_reason_as_json(client, limits):
    response = client.generic("POST", "/api/runs/", b"{" + b" " * (70 * 1024) + b"}", content_type="application/json")
    assert response.status_code == 413
    assert "65,536 bytes" in response.json()["error"]


def test_an_upload_over_the_bundle_limit_says_which_limit(client, limits):
    big = SimpleUploadedFile("big.json", b" " * (1024 * 1024 + 70 * 1024), "application/json")
    response = client.post("/bundles/open/", {"bundle": big})
    assert response.status_code == 413
    assert b"over the 1,048,576-byte limit for trace bundles" in response.content
    assert b'href="/bundles/open/"' in response.content


def test_the_upload_address_still_takes_bundles_far_larger_than_a_form(client, limits, settings):
    # Over the small limit and over Django's in-memory size, within the bundle limit: the
    # upload is read and judged by the form (not a trace bundle), not refused by size.
    settings.CONTROLPLANE_LOGIN_REQUIRED = False
    big = SimpleUploadedFile("big.json", b'{"padding": "' + b"x" * (900 * 1024) + b'"}', "application/json")
    response = client.post("/bundles/open/", {"bundle": big})
    assert response.status_code == 400
    assert b"cannot be opened as a trace bundle" in response.content


def test_the_refusal_carries_the_same_security_headers_as_every_page(client, limits):
    response = client.post("/accounts/login/", data=b"x" * 70_000, content_type="application/octet-stream")
    assert response.status_code == 413
    assert "script-src" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
