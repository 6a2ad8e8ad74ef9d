"""Generic screens: the menu, any host function's form and result, downloads. Nothing per function."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for

from dvflag_hookspecs import Actor, ExportResult, HostFunction

from ...errors import DvflagError, PermissionDenied, StaleVersionError, ValidationError
from ...text.names import field_label
from . import results
from .forms import ROW_PREFIX, params_from, prefill, row_context
from .security import require_actor, ui_state
from .spec import FunctionSpec, function_spec

bp = Blueprint("screens", __name__)

MENU_GROUPS = (("menu", "業務メニュー"), ("administration", "管理"))


def user_roles(actor: Actor) -> frozenset[str]:
    """The roles the host provisioned for this staff member."""
    return frozenset(ui_state().host.data.user(actor.user_id).roles)


def offered(actor: Actor) -> dict[str, tuple[HostFunction, FunctionSpec]]:
    """Every host function this user's roles may use, by id, in the plugin's order."""
    roles = user_roles(actor)
    found = {}
    for fn in ui_state().host.functions().values():
        spec = function_spec(fn)
        if roles & set(spec.roles):
            found[fn.function_id] = (fn, spec)
    return found


def placed(actor: Actor, screen: str) -> list[FunctionSpec]:
    """The user's functions placed on ``screen``, in the descriptors' order."""
    specs = [spec for _, spec in offered(actor).values() if screen in spec.placements]
    return sorted(specs, key=lambda s: s.order(screen))


@bp.get("/menu")
def menu() -> Any:
    """The user's menu, grouped by placement."""
    actor = require_actor()
    groups = {title: placed(actor, screen) for screen, title in MENU_GROUPS}
    return render_template("menu.html", groups=groups)


def _function(function_id: str) -> tuple[HostFunction, FunctionSpec]:
    fn = ui_state().host.functions().get(function_id)
    if fn is None:
        abort(404)
    return fn, function_spec(fn)


def _form_page(spec: FunctionSpec, values: Mapping[str, Any], fixed: tuple[str, ...], row: Mapping[str, str], *,
               errors: dict[str, str] | None = None, problem: str | None = None, stale: bool = False,
               status: int = 200) -> Any:
    about = [(field_label(k.removeprefix(ROW_PREFIX)), v) for k, v in row.items()]
    return render_template(
        "function.html", spec=spec, values=values, errors=errors or {}, problem=problem, stale=stale, fixed=fixed,
        row=row, about=about,
    ), status


@bp.get("/f/<function_id>")
def function_form(function_id: str) -> Any:
    """The form of one function, prefilled (and fixed) from the query string."""
    require_actor()
    _, spec = _function(function_id)
    values = prefill(request.args, spec)
    return _form_page(spec, values, tuple(values), row_context(request.args))


def row_links(actor: Actor, view: results.ResultView, spec: FunctionSpec, params: Mapping[str, Any]) -> list[Any]:
    """For each table row, (title, url) of the row actions the descriptor names and the user may use."""
    shape = spec.result_shape(params)
    if shape is None or not shape.row_actions:
        return [[] for _ in view.raw_rows]
    mine = offered(actor)
    actions = [mine[a][1] for a in shape.row_actions if a in mine and "record" in mine[a][1].placements]
    # What any row action's confirmation lists about the row also heads every action's form, so the
    # clerk sees which registration a form changes (only row.* keys: never a personal column).
    shown = {k.removeprefix("row.") for a in actions if a.descriptor is not None
             for c in a.descriptor.confirmations for k in c.show if k.startswith("row.")}
    links = []
    for raw in view.raw_rows:
        base = results.get_path(raw, shape.row_base)
        row_links: list[tuple[str, str]] = []
        if shape.row_actions_dept and results.get_path(base, shape.row_actions_dept) != actor.dept_code:
            links.append(row_links)  # another department's row: its actions would only be refused
            continue
        for action in actions:
            args: dict[str, Any] = {}
            for param, source in action.placements["record"].items():
                args[param] = results.get_path(base, source.removeprefix("row."))
            for name in sorted(shown):
                fmt = next((c.format for c in view.columns if c.key.endswith(name)), None)
                args[ROW_PREFIX + name] = results.show(results.get_path(base, name), fmt)
            row_links.append((action.title, url_for("screens.function_form", function_id=action.function_id,
                                                    **args)))
        links.append(row_links)
    return links


@bp.post("/f/<function_id>")
def function_call(function_id: str) -> Any:
    """Call the function with the submitted fields; confirm first when the descriptor asks."""
    actor = require_actor()
    fn, spec = _function(function_id)
    params = params_from(request.form, spec)
    fixed = tuple(request.form.getlist("__fixed"))
    row = row_context(request.form)
    confirm = spec.confirmation(params)
    if confirm is not None and request.form.get("__confirmed") != "yes":
        shown = _confirm_items(spec, params, row, confirm.show)
        return render_template("confirm.html", spec=spec, confirm=confirm, shown=shown, form=request.form)
    try:
        result = fn.call(actor, params)
    except PermissionDenied as err:
        return render_template("denied.html", message=err.message, code=err.code), 403
    except StaleVersionError as err:
        return _form_page(spec, params, fixed, row, problem=err.message, stale=True, status=409)
    except ValidationError as err:
        names = [f.strip() for f in err.field.split(",")]
        if any(n in spec.field_names for n in names):
            errors = {n: err.message for n in names if n in spec.field_names}
            return _form_page(spec, params, fixed, row, errors=errors, status=422)
        return _form_page(spec, params, fixed, row, problem=err.message, status=422)
    except DvflagError as err:
        return _form_page(spec, params, fixed, row, problem=err.message, status=422)
    view = results.build(result, spec, params)
    token = ui_state().keep_file(actor.user_id, result) if isinstance(result, ExportResult) else None
    return render_template("result.html", spec=spec, view=view, token=token,
                           links=row_links(actor, view, spec, params))


def _confirm_items(spec: FunctionSpec, params: Mapping[str, Any], row: Mapping[str, str],
                   show: tuple[str, ...]) -> list[tuple[str, str]]:
    """(title, value) of what a confirmation page lists: parameters, and the row acted on."""
    items = []
    for key in show:
        if key.startswith("row."):
            name = key.removeprefix("row.")
            if ROW_PREFIX + name in row:
                items.append((field_label(name), row[ROW_PREFIX + name]))
            continue
        field = spec.field(key)
        if field is None or key not in params:
            continue
        value = params[key]
        titles = {c.value: c.title for c in field.choices}
        shown = "、".join(titles.get(str(v), str(v)) for v in value) if isinstance(value, list) else titles.get(
            str(value), str(value))
        items.append((field.title, shown))
    return items


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
