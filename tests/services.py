"""Tests that need a service (PostgreSQL, Slurm) skip without it, except where it must run.

``.ci/run`` starts the services and sets ``RANKME_REQUIRE_SERVICES=1``: there a missing
service fails the test instead of hiding it behind a skip.
"""

from __future__ import annotations

import os
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
