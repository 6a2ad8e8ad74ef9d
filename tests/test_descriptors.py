"""Function descriptors (issue 9 §1): complete, valid JSON Schema 2020-12, consistent with the functions."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from dvflag_hookspecs import (
    FUNCTION_IDS,
    ROLE_LABELS,
    Actor,
    FunctionDescriptor,
    HostFunction,
)
from dvflag_plugin.cli.main import main
from dvflag_plugin.config import Settings
from dvflag_plugin.contract.descriptors import build_descriptors
from dvflag_plugin.contract.functions import _SPECS
from dvflag_plugin.rules.validation import SEX_CODES
from dvflag_plugin.service.records import DELETE_REASONS

SETTINGS = (Settings(), Settings(address_no_fixed_len=15), Settings(address_no_min_len=4, address_no_max_len=12))


def _noop(actor: Actor, params: Mapping[str, Any]) -> None:
    return None


@pytest.fixture(scope="module")
def descriptors() -> dict[str, FunctionDescriptor]:
    return build_descriptors(Settings())


def test_every_function_has_one_descriptor(descriptors: dict[str, FunctionDescriptor]) -> None:
    assert tuple(descriptors) == FUNCTION_IDS
    for function_id, label, roles, _method, params in _SPECS:
        d = descriptors[function_id]
        assert d.title.ja == label, function_id
        assert d.roles == roles, function_id
        assert d.params == params, function_id
        assert d.title.en and d.help.ja and d.help.en, function_id
        assert set(d.roles) <= set(ROLE_LABELS), function_id


def test_every_text_is_in_both_languages(descriptors: dict[str, FunctionDescriptor]) -> None:
    """A host in either language finds every title, column, confirmation and error message filled in."""
    japanese = re.compile(r"[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef]")
    for d in descriptors.values():
        texts = [("title", d.title), ("help", d.help)]
        texts += [(f"field {f.name}", f.title) for f in d.fields]
        texts += [(f"choice {c.value}", c.title) for f in d.fields for c in f.choices]
        texts += [(f"column {c.key}", c.title) for r in d.results for c in r.columns]
        texts += [(f"confirmation {c.level}", c.text) for c in d.confirmations]
        texts += [(f"error {e.code}", e.message) for e in d.errors]
        for where, text in texts:
            assert text.ja and text.en, (d.function_id, where)
            assert japanese.search(text.ja) or text.ja == text.en, (d.function_id, where, text.ja)
        codes = [(e.code, e.field) for e in d.errors]
        assert len(codes) == len(set(codes)), (d.function_id, "an error is listed twice")


@pytest.mark.parametrize("settings", SETTINGS, ids=["default", "fixed15", "4to12"])
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_input_schemas_are_valid_2020_12(settings: Settings, lang: str) -> None:
    for d in build_descriptors(settings).values():
        schema = d.input_schema(lang)
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["additionalProperties"] is False
        assert list(schema["properties"]) == list(d.params)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_to_json_round_trips_through_json(descriptors: dict[str, FunctionDescriptor], lang: str) -> None:
    for d in descriptors.values():
        rendered = d.to_json(lang)
        assert json.loads(json.dumps(rendered, ensure_ascii=False)) == rendered
        assert rendered["descriptor_version"] == 1
        assert rendered["lang"] == lang
        assert rendered["title"] == d.title.get(lang)


def test_address_number_rule_follows_the_settings() -> None:
    fixed = build_descriptors(Settings(address_no_fixed_len=15))["dvflag.status"].input_schema()
    prop = fixed["properties"]["address_no"]
    assert (prop["minLength"], prop["maxLength"]) == (15, 15)
    validator = Draft202012Validator(fixed)
    assert validator.is_valid({"address_no": "1" * 15})
    assert validator.is_valid({"address_no": "１" * 15})
    assert not validator.is_valid({"address_no": "1" * 14})
    assert not validator.is_valid({"address_no": "12345678901234a"})
    ranged = build_descriptors(Settings(address_no_min_len=4, address_no_max_len=12))["dvflag.status"]
    r = Draft202012Validator(ranged.input_schema())
    assert r.is_valid({"address_no": "1234"}) and r.is_valid({"address_no": "1" * 12})
    assert not r.is_valid({"address_no": "123"}) and not r.is_valid({"address_no": "1" * 13})


def test_choices_carry_japanese_titles(descriptors: dict[str, FunctionDescriptor]) -> None:
    sex = descriptors["dvflag.register"].input_schema()["properties"]["sex_code"]
    assert {c["const"]: c["title"] for c in sex["oneOf"]} == SEX_CODES
    reason = descriptors["dvflag.delete"].input_schema()["properties"]["reason"]
    assert {c["const"]: c["title"] for c in reason["oneOf"]} == DELETE_REASONS
    for fid, field in (("dvflag.search", "state"), ("dvflag.export", "format"), ("dvflag.export", "encoding"),
                       ("dvflag.users", "op")):
        prop = descriptors[fid].input_schema()["properties"][field]
        assert prop["oneOf"] and all(c["title"] and c["title"] != c["const"] for c in prop["oneOf"]
                                     if c["const"] not in ("csv",)), (fid, field)
    roles = descriptors["dvflag.users"].input_schema()["properties"]["roles"]["items"]["oneOf"]
    assert {c["const"]: c["title"] for c in roles} == ROLE_LABELS


def test_personal_fields_are_marked(descriptors: dict[str, FunctionDescriptor]) -> None:
    for d in descriptors.values():
        for f in d.fields:
            assert f.personal is (f.name in ("name", "birth_date")), (d.function_id, f.name)
            prop = d.input_schema()["properties"][f.name]
            assert prop.get("x-dvflag-personal", False) is f.personal
            assert prop["x-dvflag-widget"]
            if f.format == "date":
                assert prop["x-dvflag-widget"] == "wareki-date" and prop["x-dvflag-wareki"] is True


def test_personal_output_matches_the_result_columns(descriptors: dict[str, FunctionDescriptor]) -> None:
    for d in descriptors.values():
        # A list file holds the eight approved items, 氏名 and 生年月日 included.
        shows_personal = any(c.personal for shape in d.results for c in shape.columns) or any(
            shape.kind == "file" for shape in d.results
        )
        assert d.effects.personal_output is shows_personal, d.function_id
        assert not (d.effects.read_only and d.effects.changes_data), d.function_id


def test_confirmations_for_release_unrelease_delete_and_roles(descriptors: dict[str, FunctionDescriptor]) -> None:
    assert descriptors["dvflag.release"].confirmation_for({}) is not None
    assert descriptors["dvflag.unrelease"].confirmation_for({}) is not None
    delete = descriptors["dvflag.delete"].confirmation_for({"reason": "mistaken_entry"})
    assert delete is not None and delete.level == "danger" and "元に戻せません" in delete.text.ja
    users = descriptors["dvflag.users"]
    roles = users.confirmation_for({"op": "roles", "user_id": "u1"})
    assert roles is not None and "ロール" in roles.text.ja and roles.level == "danger"
    assert users.confirmation_for({"op": "list"}) is None
    assert users.confirmation_for({}) is None  # op defaults to list
    assert descriptors["dvflag.status"].confirmation_for({"address_no": "1"}) is None
    assert descriptors["dvflag.delete"].effects.destructive
    assert not any(d.effects.destructive for fid, d in descriptors.items() if fid != "dvflag.delete")


def test_results_pick_the_shape_by_operation(descriptors: dict[str, FunctionDescriptor]) -> None:
    audit = descriptors["dvflag.audit"]
    assert audit.result_for({}).kind == "verification"
    assert audit.result_for({"op": "read"}).kind == "table"
    assert audit.result_for({"op": "checkpoint"}).kind == "record"
    users = descriptors["dvflag.users"]
    assert users.result_for({}).kind == "table"
    assert users.result_for({"op": "add"}).kind == "record"
    export = descriptors["dvflag.export"].result_for({})
    assert export.kind == "file" and export.file is not None and export.file.output_no_field == "output_no"
    search = descriptors["dvflag.search"].result_for({})
    formats = {c.key: c.format for c in search.columns}
    assert formats["birth_date"] == "wareki-date" and formats["sex_code"] == "sex-label"


def test_host_function_derives_params_from_its_descriptor(descriptors: dict[str, FunctionDescriptor]) -> None:
    d = descriptors["dvflag.release"]
    fn = HostFunction("dvflag.release", "解除", ("registrar",), _noop, descriptor=d)
    assert fn.params == ("record_id", "row_version", "release_date")
    legacy = HostFunction("x.y", "旧", ("viewer",), _noop, ("a",))
    assert legacy.params == ("a",) and legacy.descriptor is None
    with pytest.raises(ValueError, match="differ"):
        HostFunction("dvflag.release", "解除", ("registrar",), _noop, ("record_id",), d)
    with pytest.raises(ValueError, match="given for"):
        HostFunction("dvflag.delete", "削除", ("registrar",), _noop, descriptor=d)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.audit_action = "x"  # type: ignore[misc]


INTEGRATORS = Path(__file__).resolve().parents[1] / "docs" / "integrators.md"


def _emitted_keywords(node: object) -> set[str]:
    if isinstance(node, dict):
        found = {k for k in node if k.startswith("x-dvflag-")}
        for value in node.values():
            found |= _emitted_keywords(value)
        return found
    if isinstance(node, list):
        return set().union(*(_emitted_keywords(v) for v in node)) if node else set()
    return set()


def test_descriptor_vocabulary_is_documented(descriptors: dict[str, FunctionDescriptor]) -> None:
    """Like datasette's hooks test: every part, keyword and value a descriptor uses is in the guide."""
    guide = INTEGRATORS.read_text(encoding="utf-8")
    section = guide[guide.index("## 7. ") :]
    used: set[str] = {"Text", "Field", "Placement", "Effects", "Confirmation", "ResultShape", "ErrorSpec"}
    for d in descriptors.values():
        used |= _emitted_keywords(d.to_json())
        for f in d.fields:
            used |= {f.widget, *f.normalize}
        used |= {p.screen for p in d.placements} | {c.level for c in d.confirmations}
        for shape in d.results:
            used |= {shape.kind} | {c.format for c in shape.columns if c.format not in ("text", "number", "bool")}
    missing = sorted(word for word in used if f"`{word}`" not in section)
    assert not missing, f"docs/integrators.md §7 does not mention: {missing}"


def test_functions_command_prints_every_descriptor() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["functions", "--json", "--lang", "en", "--set", "dvflag.address_no_fixed_len=15"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert [d["function_id"] for d in printed] == list(FUNCTION_IDS)
    assert all(d["lang"] == "en" for d in printed)
    status = next(d for d in printed if d["function_id"] == "dvflag.status")
    assert status["input_schema"]["properties"]["address_no"]["pattern"] == r"^(?:[0-9０-９]{15})(?![\s\S])"
    assert status["title"] == "Who holds this person"
    for d in printed:
        Draft202012Validator.check_schema(d["input_schema"])
    ja = json.loads(runner.invoke(main, ["functions", "--json"]).output)
    assert ja[0]["title"] == "DV等被害者の登録" and ja[0]["lang"] == "ja"
    plain = runner.invoke(main, ["functions"])
    assert plain.exit_code == 0 and len(plain.output.splitlines()) == len(FUNCTION_IDS)
    bad = runner.invoke(main, ["functions", "--set", "dvflag.no_such_setting=1"])
    assert bad.exit_code == 2 and "未定義の設定項目" in bad.output
    bad_len = runner.invoke(main, ["functions", "--set", "dvflag.address_no_fixed_len=99"])
    assert bad_len.exit_code == 2
