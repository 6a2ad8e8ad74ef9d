"""Generic screens: the menu, any host function's form and result, downloads. Nothing per function."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for

from dvflag_hookspecs import Actor, ExportResult, HostFunction

from ...errors import DvflagError, PermissionDenied, StaleVersionError, ValidationError
from . import results
from .forms import params_from, prefill
from .security import require_actor, ui_state
from .spec import FunctionSpec, function_spec

bp = Blueprint("screens", __name__)

MENU_PLACEMENTS = ("menu", "administration")


def user_roles(actor: Actor) -> frozenset[str]:
    """The roles the host provisioned for this staff member."""
    return frozenset(ui_state().host.data.user(actor.user_id).roles)


def offered(actor: Actor) -> list[tuple[HostFunction, FunctionSpec]]:
    """Every host function this user's roles may use, in the plugin's order."""
    roles = user_roles(actor)
    found = []
    for fn in ui_state().host.functions().values():
        spec = function_spec(fn)
        if roles & set(spec.roles):
            found.append((fn, spec))
    return found


ROW_KEYS = ("record_id", "user_id")
"""Fields that name one row: a function taking one of them can be opened from a table row."""


def row_actions(actor: Actor) -> list[FunctionSpec]:
    """Functions a table row can open (those taking a row's key), among the user's own."""
    return [spec for _, spec in offered(actor) if set(ROW_KEYS) & set(spec.field_names)]


def action_links(actions: list[FunctionSpec], row: dict[str, Any]) -> list[tuple[str, str]]:
    """(title, url) of each action that fits ``row``, its key and row version handed over."""
    links = []
    for spec in actions:
        keys = [k for k in ROW_KEYS if k in spec.field_names and row.get(k) is not None]
        if not keys:
            continue
        args = {k: row[k] for k in (*keys, "row_version") if k in spec.field_names and row.get(k) is not None}
        links.append((spec.title, url_for("screens.function_form", function_id=spec.function_id, **args)))
    return links


@bp.get("/menu")
def menu() -> Any:
    """The user's menu, grouped by placement; host screens first."""
    actor = require_actor()
    specs = [spec for _, spec in offered(actor)]
    groups = {
        "業務メニュー": [s for s in specs if "menu" in s.placements],
        "管理": [s for s in specs if "administration" in s.placements and "menu" not in s.placements],
    }
    return render_template("menu.html", groups=groups, roles=user_roles(actor))


def _function(function_id: str) -> tuple[HostFunction, FunctionSpec]:
    fn = ui_state().host.functions().get(function_id)
    if fn is None:
        abort(404)
    return fn, function_spec(fn)


def _form_page(spec: FunctionSpec, values: dict[str, Any], *, errors: dict[str, str] | None = None,
               problem: str | None = None, stale: bool = False, status: int = 200) -> Any:
    return render_template(
        "function.html", spec=spec, values=values, errors=errors or {}, problem=problem, stale=stale,
        readonly=tuple(request.args.keys()) if request.method == "GET" else tuple(request.form.getlist("__fixed")),
    ), status


@bp.get("/f/<function_id>")
def function_form(function_id: str) -> Any:
    """The form of one function, prefilled from the query string."""
    require_actor()
    _, spec = _function(function_id)
    return _form_page(spec, prefill(request.args, spec))


@bp.post("/f/<function_id>")
def function_call(function_id: str) -> Any:
    """Call the function with the submitted fields; confirm first when the descriptor asks."""
    actor = require_actor()
    fn, spec = _function(function_id)
    params = params_from(request.form, spec)
    if spec.confirmation and request.form.get("__confirmed") != "yes":
        return render_template("confirm.html", spec=spec, params=params, form=request.form)
    try:
        result = fn.call(actor, params)
    except PermissionDenied as err:
        return render_template("denied.html", message=err.message, code=err.code), 403
    except StaleVersionError as err:
        return _form_page(spec, params, problem=err.message, stale=True, status=409)
    except ValidationError as err:
        fields = [f.strip() for f in err.field.split(",")]
        if any(f in spec.field_names for f in fields):
            return _form_page(spec, params, errors={f: err.message for f in fields}, status=422)
        return _form_page(spec, params, problem=err.message, status=422)
    except DvflagError as err:
        return _form_page(spec, params, problem=err.message, status=422)
    view = results.build(result, spec)
    token = ui_state().keep_file(actor.user_id, result) if isinstance(result, ExportResult) else None
    return render_template("result.html", spec=spec, view=view, token=token, actions=row_actions(actor),
                           show=results.show, action_links=action_links)


@bp.get("/download/<token>")
def download(token: str) -> Any:
    """A produced file, for the user who produced it."""
    actor = require_actor()
    found = ui_state().file_for(token, actor.user_id)
    if found is None:
        abort(404)
    return Response(
        found.content, mimetype=found.media_type,
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )


@bp.get("/")
def index() -> Any:
    """Start: the menu, or sign-in."""
    return redirect(url_for("screens.menu") if g.get("actor") else url_for("auth.signin"))
