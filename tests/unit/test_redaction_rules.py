"""Each class of secret that used to leak: nested JSON text, id-looking keys, keys outside the
runtime's list, text patterns, list rows, and searches over unredacted text.

Every value below is unique, so a test can look for it in whatever came out.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime_adapter import redaction
from runtime_adapter.inspectors import correlation_for_run
from runtime_adapter.js import jsjson
from runtime_adapter.queries.listing import run_row
from runtime_adapter.queries.scanning import RunStore
from runtime_adapter.redaction import (
    REPLACEMENT,
    is_sensitive_key,
    redact_run,
    redact_text,
    redact_value,
)
from runtime_adapter.rows import RunQuery
from runtime_adapter.stores.file import FileRunStore
from runtime_adapter.stores.indexed import IndexedFileRunStore
from runtime_adapter.stores.memory import InMemoryRunStore
from runtime_adapter.stores.redacting import RedactingStore
from tests.factories import run_record
from tests.parity import write_run

# --- 6. JSON text inside strings: objects and arrays under sensitive keys ------------------

NESTED_TEXTS = [
    pytest.param('{"auth": {"user": "bob", "pass": "NESTED-SECRET-01"}, "city": "Paris"}', id="object"),
    pytest.param('{"password": ["NESTED-SECRET-02", "x"], "n": 1}', id="array"),
    pytest.param('{"token": {"value": "NESTED-SECRET-03"}}', id="token-object"),
    pytest.param('tool failed: {"apiKey": {"primary": "NESTED-SECRET-04"}} retrying', id="inside-prose"),
    pytest.param('{"args": "{\\"auth\\": {\\"pass\\": \\"NESTED-SECRET-05\\"}}"}', id="escaped"),
    pytest.param("{'auth': {'pass': 'NESTED-SECRET-06'}, 'city': 'Paris'}", id="python-repr"),
    pytest.param('{"auth": {"pass": "NESTED-SECRET-07', id="truncated"),
    pytest.param('{"auth": {"a": "x}]", "pass": "NESTED-SECRET-08"}}', id="brackets-in-strings"),
    pytest.param('{"credentials": [{"key": "NESTED-SECRET-09"}], "ok": true}', id="nested-credentials"),
    pytest.param('{"secret": {"a": {"b": ["NESTED-SECRET-10"]}}}', id="deep"),
]


def _leaks(text: str) -> bool:
    return "NESTED-SECRET" in text


@pytest.mark.parametrize("text", NESTED_TEXTS)
def test_objects_and_arrays_under_sensitive_keys_in_json_text_are_redacted(text):
    redacted = redact_text(text)
    assert not _leaks(redacted), redacted
    assert REPLACEMENT in redacted


def test_text_around_a_redacted_object_is_kept():
    assert redact_text('{"auth": {"pass": "p"}, "city": "Paris"}') == '{"auth": "[REDACTED]", "city": "Paris"}'
    assert redact_text('see {"author": {"name": "Jane"}}') == 'see {"author": {"name": "Jane"}}'


@pytest.mark.parametrize("text", NESTED_TEXTS)
def test_json_text_in_messages_errors_and_outputs_is_redacted(text):
    record = run_record("nested", status="failed", output=text, messages=[{"role": "tool", "content": text}],
                        errors=[{"name": "E", "message": text}])
    redacted = jsjson.dumps(redact_run(record))
    assert not _leaks(redacted)


def _long_input(secret: str) -> dict[str, object]:
    return {"request": {"auth": {"user": "bob", "pass": secret}, "headers": {"x": "y"}}, "filler": "z" * 2500}


@pytest.mark.parametrize("kind", ["memory", "indexed"])
def test_list_rows_of_long_structured_input_hide_and_never_match_nested_secrets(tmp_path, kind):
    secret = "LONGINPUT-SECRET-0042"
    store = _redacting(tmp_path, [run_record("long", input=_long_input(secret)), run_record("plain", input="hello")],
                       kind)
    try:
        row = store.query_runs(RunQuery()).rows
        assert [r.id for r in row] and all(secret not in jsjson.dumps(r.as_dict()) for r in row)
        assert store.query_runs(RunQuery(text=secret)).total == 0
        assert store.query_runs(RunQuery(text="LONGINPUT")).total == 0
        assert store.query_runs(RunQuery(text="filler")).total == 1  # what is shown is still found
    finally:
        store.close()


# --- 7. Credential-shaped values under id-looking keys ---------------------------------------

ID_SECRETS = {
    "requestId": "sk-proj-IDKEYSECRETa1b2c3d4e5f6g7h8",
    "id": "AKIAIDKEY7Q4M2XW9LPT",
    "traceId": "Bearer idkeybearer0123456789abcdef",
}


def _id_record() -> dict[str, object]:
    return run_record(
        "ids", status="failed",
        steps=[{"id": ID_SECRETS["id"], "type": "tool", "status": "failed"}],
        errors=[{"name": "UpstreamError", "requestId": ID_SECRETS["requestId"]}],
        metadata={"requestId": ID_SECRETS["requestId"], "traceId": ID_SECRETS["traceId"],
                  "correlation": {"spanId": ID_SECRETS["id"]}},
    )


def test_credential_shaped_values_under_id_keys_are_redacted_in_runs_rows_and_correlation():
    record = _id_record()
    redacted = redact_run(record)
    shown = jsjson.dumps([redacted, run_row(redacted).as_dict(), correlation_for_run(redacted)])
    assert [key for key, value in ID_SECRETS.items() if value in shown] == []
    assert redacted["id"] == "ids"  # the run's own id and lineage stay as stored


def test_ordinary_ids_are_kept():
    record = run_record("run-1", steps=[{"id": "run-1:step:1", "status": "done"}],
                        metadata={"requestId": "req_8f2a9c", "traceId": "4bf92f3577b34da6a3ce929d0e0e4736"})
    assert redact_run(record) == record


# --- 8. Sensitive keys beyond the runtime's list ---------------------------------------------

EXTRA_KEYS = ["x-api-key", "Proxy-Authorization", "Cookie", "Set-Cookie", "openaiApiKey", "api-key", "API-KEY",
              "Api_Key", "passwd", "pwd", "DB_PWD", "private_key", "privateKey", "client_secret", "CLIENT-SECRET",
              "signature", "X-Hub-Signature", "credentials", "oauth", "basicAuth", "pass_word"]


@pytest.mark.parametrize("key", EXTRA_KEYS)
def test_keys_outside_the_runtime_list_are_redacted_in_structured_data(key):
    value = f"extra-key-value-{key.lower()}"
    assert is_sensitive_key(key)
    redacted = redact_value({"headers": {key: value, "Accept": "json"}})
    assert redacted == {"headers": {key: REPLACEMENT, "Accept": "json"}}


def test_nested_credentials_are_redacted_whole():
    redacted = redact_value({"credentials": {"user": "svc", "key": "nested-cred-value-1"}, "region": "eu"})
    assert "nested-cred-value-1" not in jsjson.dumps(redacted) and redacted["region"] == "eu"


@pytest.mark.parametrize("key", ["apiKey", "api_key", "API-KEY", "Api.Key", "api key"])
def test_keys_match_whatever_their_case_and_separators(key):
    assert is_sensitive_key(key)


@pytest.mark.parametrize("key", ["authContext", "author", "emailVerified", "city", "apiVersion", "passed", "compass",
                                 "signatureVersion", "keyboard"])
def test_ordinary_keys_are_not_sensitive(key):
    assert not is_sensitive_key(key)


# --- 9. Text patterns ---------------------------------------------------------------------------

PGP = ("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGXpgpSECRETBODY0001\n=ab12\n"
       "-----END PGP PRIVATE KEY BLOCK-----")
TEXT_SECRETS = [
    pytest.param(PGP, "lQOYBGXpgpSECRETBODY0001", id="pgp-block"),
    pytest.param("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEOPENSSHBODY0002\n-----END OPENSSH PRIVATE KEY-----",
                 "b3BlbnNzaC1rZXktdjEOPENSSHBODY0002", id="openssh-block"),
    pytest.param("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHzBJBgkqENCRYPTEDBODY0003", "MIIFHzBJBgkqENCRYPTEDBODY0003",
                 id="unterminated-block"),
    pytest.param("Authorization:Basic dXNlcjpCASICNOSPACE0004", "dXNlcjpCASICNOSPACE0004", id="basic-no-space"),
    pytest.param("proxy-authorization:Bearer nospacebearer0005xyz", "nospacebearer0005xyz", id="bearer-no-space"),
    pytest.param("login with password:Nospace-Pass-0006 failed", "Nospace-Pass-0006", id="password-no-space"),
    pytest.param("PWD:pwdnospace0007", "pwdnospace0007", id="pwd-no-space"),
    pytest.param("postgres://svc:pa/ss-SLASH-0008@db.internal:5432/orders", "pa/ss-SLASH-0008", id="url-password-slash"),
    pytest.param("mongodb://svc:p@ss-AT-0009@db.internal/x", "ss-AT-0009", id="url-password-at"),
    pytest.param("posting to https://hooks.slack.com/services/T0AAAA/B0BBBB/SLACKHOOK0010abcdef",
                 "SLACKHOOK0010abcdef", id="slack-webhook"),
    pytest.param("https://discord.com/api/webhooks/123456789012345678/DISCORDHOOK0011-abcDEF_ghi",
                 "DISCORDHOOK0011-abcDEF_ghi", id="discord-webhook"),
    pytest.param("keys AKIAZ7Q4M2XW9LPT3KBN wJalrXUtnFEMI/K7MDENG/bPxRfiCYAWS0012KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYAWS0012KEY",
                 id="aws-secret-after-id"),
    pytest.param("AKIAZ7Q4M2XW9LPT3KBN,wJalrXUtnFEMI/K7MDENG/bPxRfiCYAWS0013KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYAWS0013KEY",
                 id="aws-secret-comma"),
    pytest.param("curl -s -u deploy:CurlPass0014 https://api.example.com", "CurlPass0014", id="curl-u"),
    pytest.param("curl --user 'deploy:Curl Pass0015' https://x", "Pass0015", id="curl-user-quoted"),
    pytest.param("sshpass -p 'SshPass0016' ssh root@host", "SshPass0016", id="sshpass"),
    pytest.param("sshpass -pSshPass0017 scp a b", "SshPass0017", id="sshpass-joined"),
    pytest.param("mysql -u root -pMysqlPass0018 orders", "MysqlPass0018", id="mysql-p"),
    pytest.param("mysqldump -h db -u app -p'MysqlPass0019' shop", "MysqlPass0019", id="mysqldump-p-quoted"),
    pytest.param("x-api-key: XApiKeyHeader0020", "XApiKeyHeader0020", id="x-api-key-header"),
    pytest.param("Cookie: session=CookieSession0021; theme=dark", "CookieSession0021", id="cookie-header"),
]


@pytest.mark.parametrize(("text", "secret"), TEXT_SECRETS)
def test_credentials_in_text_are_found_by_their_shape(text, secret):
    redacted = redact_text(text)
    assert secret not in redacted, redacted
    assert REPLACEMENT in redacted


@pytest.mark.parametrize("text", [
    "scope email:send", "token:read", "secrets:write", "https://example.com:8080/path?user=a@b.com",
    "mysql -u root -p orders", "curl -s https://example.com/u/x", "-----BEGIN CERTIFICATE-----\nMIIB\n",
    "AKIA docs mention a 40 char key", "see https://hooks.slack.com/ for docs", "the author: Jane",
    "git commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
])
def test_lookalike_text_is_left_alone(text):
    assert redact_text(text) == text


def test_url_user_and_host_stay_visible():
    assert redact_text("postgres://svc:pa/ss@db:5432/x") == "postgres://svc:[REDACTED]@db:5432/x"


# --- 5 and 10. List rows and searches never hold unredacted text ------------------------------

SESSION = "corr-session-token-value-5501"
API_KEY = "corr-api-key-value-5502"


def _correlated() -> list[dict[str, object]]:
    return [run_record("corr", metadata={"correlation": {"ticket": "T-1", "sessionToken": SESSION, "apiKey": API_KEY}}),
            run_record("other", metadata={"correlation": {"ticket": "T-2"}})]


def _redacting(tmp_path: Path, records: list[dict[str, object]], kind: str, *, secrets: bool = True) -> RedactingStore:
    directory = tmp_path / "runs"
    directory.mkdir(exist_ok=True)
    for record in records:
        write_run(directory, record)
    inner: RunStore
    if kind == "memory":
        inner = InMemoryRunStore(FileRunStore(directory).list_runs())
    elif kind == "file":
        inner = FileRunStore(directory)
    else:
        inner = IndexedFileRunStore(directory, index_path=tmp_path / "index.sqlite3", background=False,
                                    redact_rows=secrets)
    return RedactingStore(inner, secrets=secrets)


@pytest.mark.parametrize("kind", ["memory", "file", "indexed"])
def test_list_rows_redact_correlation_values_under_sensitive_keys(tmp_path, kind):
    store = _redacting(tmp_path, _correlated(), kind)
    try:
        rows = store.query_runs(RunQuery()).rows
        shown = jsjson.dumps([row.as_dict() for row in rows] + [row.as_dict() for row in store.rows()])
        assert SESSION not in shown and API_KEY not in shown
        assert "T-1" in shown
        # An exact guess confirms nothing: the same answer as a wrong guess.
        assert store.query_runs(RunQuery(correlation_id=SESSION)).total == 0
        assert store.query_runs(RunQuery(correlation_id=API_KEY)).total == 0
        assert store.query_runs(RunQuery(correlation_id="T-1")).total == 1
    finally:
        store.close()


@pytest.mark.parametrize("kind", ["memory", "file", "indexed"])
def test_with_redaction_off_correlation_values_and_text_are_found(tmp_path, kind):
    store = _redacting(tmp_path, _correlated(), kind, secrets=False)
    try:
        assert store.query_runs(RunQuery(correlation_id=SESSION)).total == 1
        assert SESSION in jsjson.dumps([row.as_dict() for row in store.rows()])
    finally:
        store.close()


def _index_text(path: Path) -> str:
    connection = sqlite3.connect(path)
    try:
        dump = "\n".join(connection.iterdump())
    finally:
        connection.close()
    return dump


def test_the_index_holds_only_redacted_text_when_redaction_is_on(tmp_path):
    from tests.fixtures.hostile import SECRETS, secret_store

    secret_store(tmp_path / "runs")
    inner = IndexedFileRunStore(tmp_path / "runs", index_path=tmp_path / "index.sqlite3", background=False,
                                redact_rows=True)
    try:
        RedactingStore(inner).query_runs(RunQuery(text="secret"))
        dump = _index_text(tmp_path / "index.sqlite3")
        assert [secret.name for secret in SECRETS if secret.value in dump] == []
    finally:
        inner.close()


def test_the_index_holds_raw_text_when_redaction_is_off(tmp_path):
    from tests.fixtures.hostile import SECRETS, secret_store

    secret_store(tmp_path / "runs")
    inner = IndexedFileRunStore(tmp_path / "runs", index_path=tmp_path / "index.sqlite3", background=False,
                                redact_rows=False)
    try:
        store = RedactingStore(inner, secrets=False)
        assert store.query_runs(RunQuery(text=SECRETS[0].value[:14])).total >= 1
    finally:
        inner.close()


def test_changing_the_redaction_setting_rebuilds_the_index(tmp_path):
    from tests.fixtures.hostile import SECRETS, secret_store

    secret_store(tmp_path / "runs")
    prefix = SECRETS[0].value[:14]
    for secrets, expected in ((False, True), (True, False), (False, True)):
        inner = IndexedFileRunStore(tmp_path / "runs", index_path=tmp_path / "index.sqlite3", background=False,
                                    redact_rows=secrets)
        try:
            assert (RedactingStore(inner, secrets=secrets).query_runs(RunQuery(text=prefix)).total > 0) is expected
        finally:
            inner.close()


class _Spy(InMemoryRunStore):
    """Records every listing query that reached the unredacted store."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.searched: list[RunQuery] = []

    def query_runs(self, query: RunQuery):
        if query.text or query.correlation_id:
            self.searched.append(query)
        return super().query_runs(query)


def test_a_scanning_store_is_never_searched_on_its_unredacted_rows():
    from tests.fixtures.hostile import SECRETS, secret_record

    inner = _Spy([secret_record(secret) for secret in SECRETS])
    store = RedactingStore(inner)
    for length in range(4, 16):
        store.query_runs(RunQuery(text=SECRETS[0].value[:length]))
        store.query_incidents(RunQuery(text=SECRETS[0].value[:length]))
        store.query_runs(RunQuery(correlation_id=SECRETS[0].value))
    store.rows_with_input(store.get_run("secret-openai")["input"])
    assert inner.searched == []


def test_a_redacting_store_refuses_an_index_made_for_the_other_setting(tmp_path):
    (tmp_path / "runs").mkdir()
    inner = IndexedFileRunStore(tmp_path / "runs", index_path=tmp_path / "index.sqlite3", background=False)
    with pytest.raises(ValueError, match="redact"):
        RedactingStore(inner, secrets=True)


def test_the_new_patterns_take_linear_time_on_hostile_megabytes():
    import time

    hostile = ['"password": [' * 170_000, '"a": {' * 170_000, '"token": {}, ' * 100_000, "a://b:" * 350_000 + "@",
               "curl -u a:" * 200_000, "mysql -p" * 200_000, "AKIAZ7Q4M2XW9LPT3KBN " * 100_000, "password:" * 250_000,
               "'" * 1_000_000 + "password: {", '\\"auth\\": {' * 100_000, "sshpass -p " * 200_000]
    started = time.monotonic()
    for text in hostile:
        redact_text(text)
    assert time.monotonic() - started < 15


@given(st.lists(st.one_of(st.sampled_from(redaction._ALL_NEEDLES),
                          st.text(alphabet="abcdeghiklmnoprstuwxy_-:/. ", max_size=6)), max_size=12))
def test_the_needle_scan_finds_a_needle_exactly_when_one_occurs(parts):
    """`clean_already` skips redacting a section when this scan finds nothing: it must miss no needle (a missed
    one would show a secret) and flag nothing else. The text mixes needles with fragments of their letters."""
    text = "".join(parts)
    assert bool(redaction._ANY_NEEDLE.search(text)) == any(needle in text for needle in redaction._ALL_NEEDLES)


_KEYS = st.sampled_from(["tokenUsage", "TokenUsage", "token_usage", "authRequirements", "auth", "prompt", "total",
                         "password", "name", "value", "url", "note"])
_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from(["", "plain", "sk-live-abcdef1234567890", "token=abc123", "https://u:p@h/x",
                                     "authRequirements", "\"tokenusage\": {}", "ok"]))
_SECTIONS = st.recursive(_LEAVES, lambda children: st.lists(children, max_size=3)
                         | st.dictionaries(_KEYS, children, max_size=4), max_leaves=12)


@given(_SECTIONS)
def test_a_section_called_clean_comes_out_of_redaction_unchanged(section):
    """`clean_already` lets a section skip the redaction walk; the spans it ignores (token counts, the
    authRequirements key) must be ones redaction leaves alone, whatever sits beside or inside them."""
    if redaction.clean_already(section):
        assert redaction.redact_value(section) == section
