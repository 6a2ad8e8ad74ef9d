"""Sign-in: the mock host authenticates by letting the tester pick one of its dummy staff accounts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for

from .security import csrf_token, ui_state

bp = Blueprint("auth", __name__)


@bp.get("/signin")
def signin() -> Any:
    """The list of dummy staff accounts."""
    host = ui_state().host
    staff = [(s, host.data.department(s.host_dept_code).dept_name) for s in host.data.staff]
    return render_template("signin.html", staff=staff, error=None)


@bp.post("/signin")
def signin_post() -> Any:
    """Start a fresh session for the chosen account (new CSRF token)."""
    host = ui_state().host
    user_id = request.form.get("user_id", "")
    if user_id not in {s.user_id for s in host.data.staff}:
        staff = [(s, host.data.department(s.host_dept_code).dept_name) for s in host.data.staff]
        return render_template("signin.html", staff=staff, error="職員アカウントを選択してください"), 422
    session.clear()
    session["user_id"] = user_id
    csrf_token()
    return redirect(url_for("screens.menu"))


@bp.post("/signout")
def signout() -> Any:
    """End the session."""
    session.clear()
    return redirect(url_for("auth.signin"))
