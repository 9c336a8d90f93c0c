"""Storage URLs as users write them: the password held apart from the rest, and masked in
every message (:func:`mask_url`, :func:`mask_secrets`)."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url

__all__ = ["join_password", "mask_secrets", "mask_url", "split_password"]


def mask_url(url: str) -> str:
    """Returns the storage URL with its password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can parse: keep nothing after a scheme's '@'
        return url.split("@")[-1] if "@" in url else url


def mask_secrets(text: str, url: str) -> str:
    """Replaces every occurrence of the URL's password in ``text`` with ``***``."""
    try:
        password = make_url(url).password
    except Exception:
        return text.replace(url, mask_url(url))
    if password:
        text = text.replace(url, mask_url(url)).replace(str(password), "***")
    return text


def split_password(url: str) -> tuple[str, str | None]:
    """(the URL without its password, the password or None); a URL without one is returned
    as written (SQLAlchemy would re-spell ``sqlite:///:memory:``)."""
    parsed = make_url(url)
    if parsed.password is None:
        return url, None
    # URL.set() skips None: build the URL anew without the password
    bare = URL.create(parsed.drivername, parsed.username, None, parsed.host, parsed.port,
                      parsed.database, parsed.query)
    return bare.render_as_string(hide_password=False), str(parsed.password)


def join_password(address: str, password: str | None, *, hide: bool = False) -> str:
    """The URL ``address`` with ``password`` put back (``***`` with ``hide``)."""
    if password is None:
        return address
    return make_url(address).set(password=password).render_as_string(hide_password=hide)
