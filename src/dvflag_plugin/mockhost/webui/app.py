"""The application factory of the reference host UI (Flask, server-rendered, no JavaScript needed)."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, redirect, render_template, url_for

from ...text.wareki import format_wareki
from ..host import MockHost
from . import auth, hostscreens, screens
from .results import show
from .security import check_csrf, csrf_token, current_actor
from .state import UiState

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def create_app(host: MockHost, *, secret_key: str | None = None, testing: bool = False) -> Flask:
    """A UI over ``host``; its state lives in the app (never global)."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key or secrets.token_hex(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_NAME="mockhost_session",
        TESTING=testing,
    )
    app.extensions["dvflag_ui"] = UiState(host)
    app.before_request(check_csrf)
    app.register_blueprint(auth.bp)
    app.register_blueprint(screens.bp)
    app.register_blueprint(hostscreens.bp)

    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["wareki"] = format_wareki

    @app.context_processor
    def _globals() -> dict[str, Any]:
        actor = current_actor()
        dept = host.data.department(actor.dept_code).dept_name if actor else None
        return {
            "csrf_token": csrf_token, "actor": actor, "actor_dept": dept, "wareki": format_wareki,
            "show_sex": lambda code: show(code, "sex-label"),
        }

    @app.after_request
    def _headers(response: Any) -> Any:
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.errorhandler(401)
    def _signin(_: Any) -> Any:
        return redirect(url_for("auth.signin"))

    @app.errorhandler(404)
    def _missing(_: Any) -> Any:
        return render_template("error.html", title="見つかりません", message="指定された画面はありません"), 404

    return app
