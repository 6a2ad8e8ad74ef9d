"""Shared helpers of the reference UI tests: a signed-in Flask test client and page text."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def token_of(html: str) -> str:
    """The CSRF token embedded in a page."""
    found = CSRF.search(html)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


def signed_in(app: Flask, user_id: str) -> tuple[FlaskClient, str]:
    """A test client signed in as ``user_id`` and its session's CSRF token."""
    client = app.test_client()
    token = token_of(client.get("/signin").get_data(as_text=True))
    page = client.post("/signin", data={"csrf_token": token, "user_id": user_id}, follow_redirects=True)
    assert page.status_code == 200
    return client, token_of(page.get_data(as_text=True))


def field_error(html: str, field: str) -> str | None:
    """The error message rendered next to a form field, or None."""
    found = re.search(rf'id="f-{re.escape(field)}-error">([^<]+)<', html)
    return found.group(1) if found else None


def text_of(html: str) -> str:
    """Visible text, tags removed and whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def post(client: FlaskClient, url: str, token: str, **data: Any) -> Any:
    """POST a form with the CSRF token."""
    return client.post(url, data={"csrf_token": token, **data})
