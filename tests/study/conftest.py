"""Helpers for study tests: search spaces, study names and URLs, open the study a run made."""

from __future__ import annotations

import uuid
from pathlib import Path

import optuna
import pytest

from tests.services import POSTGRES_URL, require_postgres

CONF = Path(__file__).resolve().parent / "conf"  # test search spaces, via --config-dir


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'study.db'}"


def load(url: str | optuna.storages.BaseStorage, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=url)


@pytest.fixture
def study_name() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def postgres_url(study_name: str):
    """The test PostgreSQL URL; the test's study is deleted afterwards."""
    require_postgres()
    yield POSTGRES_URL
    try:
        optuna.delete_study(study_name=study_name, storage=POSTGRES_URL)
    except KeyError:
        pass
