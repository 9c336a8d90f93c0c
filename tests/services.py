"""Tests that need a service (PostgreSQL, Slurm) skip without it, except where it must run.

``.ci/run`` starts the services and sets ``RANKME_REQUIRE_SERVICES=1``: there a missing
service fails the test instead of hiding it behind a skip.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def service_missing(reason: str) -> NoReturn:
    if os.environ.get("RANKME_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)
