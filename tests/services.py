"""Tests that need a service (PostgreSQL, Slurm) or ../shared/data skip without it, except
where it must run.

``.ci/run`` starts the services and sets ``RANKME_REQUIRE_SERVICES=1``: there a missing
service fails the test instead of hiding it behind a skip.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get(
    "RANKME_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def service_missing(reason: str) -> NoReturn:
    if os.environ.get("RANKME_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def require_postgres() -> str:
    """The test PostgreSQL URL, once a connection to it has worked."""
    url = make_url(POSTGRES_URL)
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 5})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as err:
        service_missing(
            f"PostgreSQL not reachable at {url.render_as_string(hide_password=True)} "
            f"({type(err).__name__}); set RANKME_TEST_POSTGRES_URL"
        )
    return POSTGRES_URL


def require_cifar10() -> Path:
    """``../shared/data/cifar10`` (image folders), present on developer machines and in CI;
    a user's clone without it skips, CI fails."""
    root = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10"
    if not (root / "train").is_dir() or not (root / "test").is_dir():
        service_missing(f"CIFAR-10 image folders not found at {root} (train/ and test/)")
    return root
