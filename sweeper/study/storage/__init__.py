"""Where a study lives: one backend class per kind of database, chosen by the URL's scheme.

SQLite (:mod:`.sqlite`, the embedded default), PostgreSQL or another database SQLAlchemy
reaches (:mod:`.rdb`, for clusters), or ``grpc://HOST:PORT``, a storage proxy in front of
either (:mod:`.proxy`, served by :mod:`sweeper.study.proxy_server`). Each owns its URL
rules, its connections and the study's slot lock, the way Optuna gives each storage its own
class. :class:`StorageSettings` is ``sweep.storage`` parsed once, :func:`open_storage` the one
way to open it. Passwords never leave unmasked: use :func:`mask_url` / :func:`mask_secrets`.
"""

from sweeper.study.storage.base import StudyStorage, trial_id
from sweeper.study.storage.proxy import ProxyStorage
from sweeper.study.storage.settings import (
    BACKENDS,
    PASSWORD_ENV,
    SUPPORTED_URLS,
    ProxySchema,
    StorageSettings,
    open_storage,
)
from sweeper.study.storage.url import mask_secrets, mask_url

__all__ = ["BACKENDS", "PASSWORD_ENV", "SUPPORTED_URLS", "ProxySchema", "ProxyStorage",
           "StorageSettings", "StudyStorage", "mask_secrets", "mask_url", "open_storage",
           "trial_id"]
