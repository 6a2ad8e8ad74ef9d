"""Sign-in session and CSRF: a token per session, checked on every POST; a refusal is audited."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import abort, current_app, g, render_template, request, session

from dvflag_hookspecs import Actor

from ...plugin import service_of
from .state import UiState

CSRF_FIELD = "csrf_token"
ANONYMOUS = Actor(user_id="anonymous", dept_code="-")


def ui_state() -> UiState:
    """The app's UiState."""
    state: UiState = current_app.extensions["dvflag_ui"]
    return state


def csrf_token() -> str:
    """This session's CSRF token (created on first use)."""
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


def current_actor() -> Actor | None:
    """The signed-in staff member as the host authenticates them, or None."""
    user_id = session.get("user_id")
    if not isinstance(user_id, str):
        return None
    try:
        return ui_state().host.actor(user_id)
    except KeyError:
        return None


def check_csrf() -> Any:
    """before_request: refuse a POST without the session's token, audited as a denial."""
    g.actor = current_actor()
    if request.method != "POST":
        return None
    given = request.form.get(CSRF_FIELD, "")
    expected = session.get(CSRF_FIELD)
    if isinstance(expected, str) and given and hmac.compare_digest(given, expected):
        return None
    actor = g.actor or ANONYMOUS
    runtime = service_of(ui_state().host.pm).runtime
    runtime.audit_alone(
        actor, "webui.request", None, "denied", "csrf.invalid",
        {"path": request.path, "token": "missing" if not given else "mismatch"},
    )
    return render_template(
        "error.html", title="要求を受け付けられません",
        message="画面の有効期限が切れたか、不正な要求です（CSRF トークンが一致しません）。画面を開き直してください。",
    ), 400


def require_actor() -> Actor:
    """The signed-in actor, or a redirect-worthy 401."""
    actor: Actor | None = g.get("actor")
    if actor is None:
        abort(401)
    return actor
