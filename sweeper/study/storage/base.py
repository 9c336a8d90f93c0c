"""What every storage backend of a study is: an Optuna storage with heartbeats that also owns
its URL rules and the study's slot lock (see :mod:`sweeper.study.slots`)."""

from __future__ import annotations

import contextlib
from abc import abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import optuna

from sweeper.study.optuna_adapter import BaseHeartbeat

__all__ = ["StudyStorage", "no_lock", "trial_id"]


class StudyStorage(optuna.storages.BaseStorage, BaseHeartbeat):
    """An Optuna storage with heartbeats that owns its URL rules and the study's slot lock.

    A backend is chosen by the URL's scheme (``BACKENDS`` in
    :mod:`~sweeper.study.storage.settings`); a new one subclasses an Optuna storage and this
    class, and is added there.
    """

    example: ClassVar[str]  # an example URL, for error messages

    @classmethod
    def check_url(cls, url: str, base: Path | None) -> str:
        """The URL as every process must read it (relative paths taken from ``base``; left
        as written without one).

        Raises:
            ValueError: for a URL of this scheme that the backend cannot open.
        """
        return url

    @classmethod
    def database_file(cls, url: str) -> Path | None:
        """The file holding the database, for backends that keep one."""
        return None

    @classmethod
    def one_process(cls, url: str) -> bool:
        """Whether the database lives inside the process that opens it (no proxy can serve
        it to others)."""
        return False

    @classmethod
    @abstractmethod
    def open(cls, url: str, *, heartbeat_s: int, max_retries: int,
             max_connections: int | None, application: str) -> StudyStorage:
        """Opens the storage (see :func:`~sweeper.study.storage.open_storage`)."""

    @abstractmethod
    def slot_lock(self, study_name: str) -> contextlib.AbstractContextManager[None]:
        """Holds the study's cross-process slot lock for the ``with`` block."""


@contextlib.contextmanager
def no_lock() -> Iterator[None]:
    """A slot lock for backends without one: workers may then overshoot ``n_trials`` by at
    most ``workers - 1`` trials."""
    yield


def trial_id(storage: StudyStorage, study_name: str, number: int) -> int:
    """The storage's id of a study's trial number (heartbeats are recorded by id)."""
    study_id = storage.get_study_id_from_name(study_name)
    return storage.get_trial_id_from_study_id_trial_number(study_id, number)
