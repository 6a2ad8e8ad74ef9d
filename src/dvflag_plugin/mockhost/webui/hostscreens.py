"""The mock host's own screens: 宛名照会 (person screen) and the 自動応答不可/不開示該当 flag screen.

They show the plugin at work through the contract only: ``aatena_person_notices`` for the caution,
the person-placed functions with ``address_no`` bound, ``aatena_before_disclosure_flags_cleared``
before the host clears its flags.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from ...errors import DvflagError, ValidationError
from ...plugin import service_of
from ...rules import validation as v
from .screens import placed
from .security import require_actor, ui_state
from .spec import FunctionSpec

bp = Blueprint("host", __name__)



def _bound(spec: FunctionSpec, screen: str, address_no: str) -> dict[str, str]:
    """The parameters a placement binds from the person on screen."""
    return {param: address_no for param, source in spec.placements[screen].items() if source == "person.address_no"}


def _number(raw: str) -> tuple[str | None, str | None]:
    """The normalised 宛名番号, or the plugin's Japanese error for it."""
    if not raw.strip():
        return None, None
    try:
        return v.address_no(raw, service_of(ui_state().host.pm).runtime.settings), None
    except ValidationError as err:
        return None, err.message


@bp.get("/person")
def person() -> Any:
    """宛名照会: the host's person record, the plugin's caution, and the person-screen functions."""
    actor = require_actor()
    host = ui_state().host
    raw = request.args.get("address_no", "")
    number, error = _number(raw)
    record = notices = None
    functions = []
    if number is not None:
        found = host.masters.people.get(number)
        record = found.as_person() if found is not None else None
        try:
            notices = host.notices(actor, [number]).get(number, [])
        except DvflagError as err:
            error = err.message
        functions = [(s, _bound(s, "person", number)) for s in placed(actor, "person")]
    return render_template("person.html", raw=raw, number=number, error=error, record=record, notices=notices,
                           functions=functions), 422 if error else 200


@bp.route("/flags", methods=["GET", "POST"])
def flags() -> Any:
    """自動応答不可/不開示該当 flags of the person for the clerk's department, with the plugin's advice."""
    actor = require_actor()
    state = ui_state()
    raw = request.values.get("address_no", "")
    number, error = _number(raw)
    advice = []
    functions = []
    cleared = False
    if number is not None:
        key = (number, actor.dept_code)
        try:
            advice = state.host.advice(actor, number)
        except DvflagError as err:
            error = err.message
        safe = bool(advice) and all(a.safe for a in advice)
        if request.method == "POST" and request.form.get("__confirmed") == "yes" and safe:
            state.cleared_flags.add(key)
        cleared = key in state.cleared_flags
        functions = [(s, _bound(s, "flag_clearing", number)) for s in placed(actor, "flag_clearing")]
    dept = state.host.data.department(actor.dept_code).dept_name
    return render_template("flags.html", raw=raw, number=number, error=error, advice=advice, cleared=cleared,
                           dept=dept, functions=functions), 422 if error else 200
