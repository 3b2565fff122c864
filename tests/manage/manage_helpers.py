"""Helpers shared by the administration tests."""

from __future__ import annotations

from tests.conftest import csrf_from


def page_token(client, url: str = "/") -> str:
    """A CSRF token from any page the client can see (every signed-in page has the sign-out form)."""
    resp = client.get(url, follow_redirects=True)
    return csrf_from(resp.get_data(as_text=True))


def post_form(client, url: str, data: dict | None = None, *, token_url: str = "/", **kw):  # noqa: S107 - a URL  # noqa: S107 - a URL, not a password
    data = dict(data or {})
    data.setdefault("csrf_token", page_token(client, token_url))
    return client.post(url, data=data, **kw)
