"""``sweep.storage`` parsed once: the URL rules of each backend, the password held apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweeper.study.storage import (
    PASSWORD_ENV,
    SUPPORTED_URLS,
    ProxySchema,
    StorageSettings,
    mask_secrets,
    mask_url,
)

URL = "postgresql+psycopg://me:p%40ss@db:5432/runs?sslmode=require"


def _parse(url: str, **kwargs) -> StorageSettings:
    return StorageSettings.parse(url, heartbeat_s=kwargs.pop("heartbeat_s", 60),
                                 max_retries=kwargs.pop("max_retries", 1), **kwargs)


def test_the_password_is_held_apart_and_masked():
    s = _parse(URL)
    assert s.scheme == "postgresql" and s.password == "p@ss"
    assert s.url == URL  # what the driver gets
    assert "p%40ss" not in s.address and "p@ss" not in repr(s)
    assert str(s) == s.masked == mask_url(URL) == \
        "postgresql+psycopg://me:***@db:5432/runs?sslmode=require"
    assert mask_secrets(f"cannot reach {URL}: password p@ss refused", URL) == \
        f"cannot reach {s.masked}: password *** refused"


def test_workers_read_the_password_from_the_environment():
    url, env = _parse(URL).for_workers(URL)
    assert url == f"postgresql+psycopg://me:${{oc.env:{PASSWORD_ENV}}}@db:5432/runs" \
        "?sslmode=require"
    assert env == {PASSWORD_ENV: "p%40ss"}  # quoted: the URL decodes it
    written = "postgresql+psycopg://me:${oc.env:MY_PASS}@db/runs"
    assert _parse(URL).for_workers(written) == (written, {})  # the user's own variable
    assert _parse("sqlite:////abs/study.db").for_workers("sqlite:///x") == (
        "sqlite:////abs/study.db", {})


def test_a_relative_sqlite_file_is_made_absolute(tmp_path: Path):
    s = _parse("sqlite:///runs/study.db", base=tmp_path)
    assert s.url == f"sqlite:///{tmp_path.resolve() / 'runs' / 'study.db'}"
    assert s.database_file == tmp_path.resolve() / "runs" / "study.db"
    memory = _parse("sqlite:///:memory:", base=tmp_path)
    assert memory.url == "sqlite:///:memory:" and memory.database_file is None
    assert _parse("grpc://127.0.0.1:13000").database_file is None
    assert _parse("sqlite:///runs/study.db").url == "sqlite:///runs/study.db"  # no base: as is


@pytest.mark.parametrize(("url", "kwargs", "message"), [
    ("foo://x", {}, "sweep.storage 'foo://x': unsupported scheme 'foo'"),
    ("not a url", {}, "sweep.storage 'not a url' is not a database URL"),
    ("grpc://127.0.0.1", {}, "expected grpc://HOST:PORT"),
    (URL, {"heartbeat_s": 1}, "sweep.heartbeat_s must be an integer >= 2 seconds, got 1"),
    (URL, {"heartbeat_s": True}, "sweep.heartbeat_s must be an integer >= 2"),
    (URL, {"max_retries": -1}, "sweep.max_retries must be an integer >= 0, got -1"),
])
def test_bad_settings_name_the_key(url, kwargs, message):
    with pytest.raises(ValueError, match=message) as caught:
        _parse(url, **kwargs)
    assert "p%40ss" not in str(caught.value)
    if "scheme" in message or "not a database" in message:
        assert all(example in str(caught.value) for example in SUPPORTED_URLS.values())


def test_the_proxy_goes_in_front_of_a_database_others_can_reach():
    proxy = ProxySchema(enabled=True, host=None, port=0, max_connections=4)
    s = _parse(URL, proxy=proxy)
    assert s.proxy == proxy
    behind = s.through_proxy("grpc://127.0.0.1:13000")
    assert (behind.scheme, behind.url, behind.password, behind.proxy) == (
        "grpc", "grpc://127.0.0.1:13000", None, None)
    assert _parse(URL, proxy=ProxySchema(enabled=False, host=None, port=0,
                                         max_connections=4)).proxy is None
    with pytest.raises(ValueError, match="an in-memory database lives in one process"):
        _parse("sqlite:///:memory:", proxy=proxy)
    with pytest.raises(ValueError, match="already a proxy"):
        _parse("grpc://127.0.0.1:13000", proxy=proxy)
