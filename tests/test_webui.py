"""The reference host UI without a browser (Flask test client): security, generic screens, audit."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import pytest
from flask import Flask

from dvflag_hookspecs import (
    Actor,
    Choice,
    Column,
    Effects,
    Field,
    FunctionDescriptor,
    HostFunction,
    Placement,
    ResultShape,
    Text,
    hookimpl,
)
from dvflag_plugin.errors import ValidationError
from dvflag_plugin.mockhost import MockHost
from dvflag_plugin.mockhost.webui.app import create_app
from dvflag_plugin.mockhost.webui.seed import seed
from helpers import registration_rows, snapshot
from webui_support import field_error, post, signed_in, text_of

pytestmark = pytest.mark.backend("sqlite")
"""The reference UI serves a SQLite file (``dvflag mockhost serve``); the operations under it are tested on
every backend elsewhere, so these screen tests stay on SQLite to keep the suite lean."""

HELD = "000000040268728"  # held by 子ども家庭課, 男女共同参画課, 生活福祉課 in the dummy data


@pytest.fixture
def app(host: MockHost) -> Flask:
    """The UI over the test's host, the dummy registrations loaded through the host functions."""
    seed(host, users=False)
    host.masters.audit_copy.clear()
    return create_app(host, testing=True)


def test_session_cookie_is_httponly_and_samesite(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/signin")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("token", [None, "forged"])
def test_post_without_the_sessions_csrf_token_is_refused_and_audited(
    app: Flask, host: MockHost, token: str | None
) -> None:
    client, _ = signed_in(app, "u-kodomo-reg1")
    before = snapshot(host.engine)
    data = {"address_no": "000000000000001"} | ({"csrf_token": token} if token else {})
    response = client.post("/f/dvflag.register", data=data)
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert snapshot(host.engine) == before
    event = host.masters.audit_copy[-1]
    assert (event.actor_id, event.action, event.outcome, event.reason_code) == (
        "u-kodomo-reg1", "webui.request", "denied", "csrf.invalid",
    )
    assert event.details["token"] == ("missing" if token is None else "mismatch")


def test_sign_in_itself_needs_the_token(app: Flask, host: MockHost) -> None:
    client = app.test_client()
    client.get("/signin")
    response = client.post("/signin", data={"user_id": "u-kodomo-reg1"})
    assert response.status_code == 400
    assert host.masters.audit_copy[-1].actor_id == "anonymous"
    assert client.get("/menu").status_code == 302  # still signed out


def test_bad_address_number_shows_the_plugins_message_next_to_the_field(app: Flask, host: MockHost) -> None:
    client, token = signed_in(app, "u-kodomo-reg1")
    before = snapshot(host.engine)
    response = post(client, "/f/dvflag.register", token, address_no="12a")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(html, "address_no") == "団体内統合宛名番号は数字のみで入力してください"
    assert 'value="12a"' in html  # what the clerk typed stays in the field
    assert snapshot(host.engine) == before


def test_other_departments_record_gets_the_denial_page(app: Flask, host: MockHost) -> None:
    danjo = next(r for r in registration_rows(host.engine) if r.dept_code == "D0301" and r.address_no == HELD)
    client, token = signed_in(app, "u-kodomo-reg1")
    before = snapshot(host.engine)
    response = post(client, "/f/dvflag.release", token, record_id=str(danjo.id), row_version="1", __confirmed="yes")
    assert response.status_code == 403
    assert "他所属のデータは操作できません" in response.get_data(as_text=True)
    assert snapshot(host.engine) == before
    event = host.masters.audit_copy[-1]
    assert (event.action, event.outcome, event.reason_code) == ("release", "denied", "dept.other")


def test_release_asks_for_confirmation_first_and_a_stale_version_asks_to_reload(app: Flask, host: MockHost) -> None:
    mine = next(r for r in registration_rows(host.engine) if r.dept_code == "D0201" and r.address_no == HELD)
    client, token = signed_in(app, "u-kodomo-reg1")
    unchanged = snapshot(host.engine)
    first = post(client, "/f/dvflag.release", token, record_id=str(mine.id), row_version=str(mine.row_version))
    assert first.status_code == 200
    assert "__confirmed" in first.get_data(as_text=True)
    assert snapshot(host.engine) == unchanged  # asking is not doing
    host.call("dvflag.update", host.actor("u-kodomo-reg1"), record_id=mine.id, row_version=mine.row_version,
              sex_code=mine.sex_code)  # someone else saved the record meanwhile
    before = snapshot(host.engine)
    stale = post(client, "/f/dvflag.release", token, record_id=str(mine.id), row_version=str(mine.row_version),
                 __confirmed="yes")
    assert stale.status_code == 409
    assert "再表示" in text_of(stale.get_data(as_text=True))
    assert snapshot(host.engine) == before


def test_export_download_matches_its_audit_event(app: Flask, host: MockHost) -> None:
    client, token = signed_in(app, "u-danjo-reg1")
    page = post(client, "/f/dvflag.export", token, format="csv", __confirmed="yes")
    html = page.get_data(as_text=True)
    event = host.masters.audit_copy[-1]
    assert event.action == "export"
    assert event.details["output_no"] in html
    link = html.split('href="/download/')[1].split('"')[0]
    body = client.get(f"/download/{link}").data
    assert hashlib.sha256(body).hexdigest() == event.details["sha256"]
    other, _ = signed_in(app, "u-kodomo-reg1")
    assert other.get(f"/download/{link}").status_code == 404  # only its requester may fetch a file


def test_person_screen_caution_for_a_held_person_only(app: Flask, host: MockHost) -> None:
    client, _ = signed_in(app, "u-zeimu-view1")
    held = client.get(f"/person?address_no={HELD}").get_data(as_text=True)
    assert 'class="caution" role="alert"' in held
    free = next(p.address_no for p in host.data.people if p.in_master and p.address_no not in
                {r.address_no for r in host.data.registrations})
    assert 'role="alert"' not in client.get(f"/person?address_no={free}").get_data(as_text=True)
    calls = host.recorder.named("aatena_person_notices")
    assert [c.kwargs["address_nos"] for c in calls[-2:]] == [[HELD], [free]]
    assert all(c.kwargs["actor"] == Actor("u-zeimu-view1", "D0102") for c in calls[-2:])


class _ExtraPlugin:
    """A second plugin offering one function described only by its descriptor (no template, no view)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Actor, dict[str, object]]] = []

    def count(self, actor: Actor, params: Mapping[str, object]) -> tuple[dict[str, object], ...]:
        self.calls.append((actor, dict(params)))
        text = str(params.get("word") or "")
        if not text.isalpha():
            raise ValidationError("word", "letters", "語句は文字のみで入力してください")
        times = int(str(params.get("times", "1")))
        return tuple({"word": text, "n": i + 1, "length": len(text)} for i in range(times))

    @hookimpl
    def aatena_functions(self) -> list[HostFunction]:
        descriptor = FunctionDescriptor(
            function_id="extra.count", title=Text("文字数の確認", "Count"),
            help=Text("語句の文字数を数えます", "Count the letters"),
            roles=("viewer",),
            fields=(
                Field("word", "string", Text("語句", "Word"), required=True),
                Field("times", "string", Text("回数", "Times"), widget="radio", default="1",
                      choices=(Choice("1", Text("1回", "once")), Choice("2", Text("2回", "twice")))),
            ),
            placements=(Placement("menu", 99),),
            effects=Effects(read_only=True, changes_data=False, destructive=False, idempotent=True),
            results=(ResultShape("table", Text("文字数", "Length"), (
                Column("n", Text("番号", "No."), "number"), Column("word", Text("語句", "Word")),
                Column("length", Text("文字数", "Length"), "number"),
            ), empty=Text("なし", "none")),),
            errors=(), audit_action="extra.count",
        )
        return [HostFunction("extra.count", "文字数の確認", ("viewer",), self.count, descriptor=descriptor)]


def test_a_function_described_only_by_its_descriptor_gets_a_working_form_and_result(
    app: Flask, host: MockHost
) -> None:
    extra = _ExtraPlugin()
    host.pm.register(extra, name="extra")
    client, token = signed_in(app, "u-zeimu-view1")
    assert 'href="/f/extra.count"' in client.get("/menu").get_data(as_text=True)
    form = client.get("/f/extra.count").get_data(as_text=True)
    assert '<label for="f-word">語句<span class="req">（必須）</span></label>' in form
    assert '<legend>回数</legend>' in form and 'value="1" checked' in form
    bad = post(client, "/f/extra.count", token, word="a1", times="1")
    assert field_error(bad.get_data(as_text=True), "word") == "語句は文字のみで入力してください"
    good = text_of(post(client, "/f/extra.count", token, word="abc", times="2", unknown="x").get_data(as_text=True))
    assert "2 件" in good and "番号 語句 文字数" in good and "1 abc 3 2 abc 3" in good
    assert extra.calls[-1] == (Actor("u-zeimu-view1", "D0102"), {"word": "abc", "times": "2"})  # only its fields
    assert 'href="/f/extra.count"' not in signed_in(app, "u-kansa-audit1")[0].get("/menu").get_data(as_text=True)


def test_search_folds_variant_kanji_width_and_kana(app: Flask, host: MockHost) -> None:
    client, token = signed_in(app, "u-koseki-view1")
    page = text_of(post(client, "/f/dvflag.search", token, name="吉田", state="all").get_data(as_text=True))
    assert "𠮷田 さくら" in page  # stored as 𠮷 (U+20BB7), found by 吉
    assert "𠮷田" in text_of(post(client, "/f/dvflag.search", token, name="ｻｸﾗ", state="all").get_data(as_text=True))
    event = host.masters.audit_copy[-1]
    assert (event.action, event.details["filters"]) == ("search", ["name"])
    assert "ｻｸﾗ" not in str(event.details)


def test_user_administrator_adds_a_user_and_cannot_change_own_roles(app: Flask, host: MockHost) -> None:
    client, token = signed_in(app, "u-joho-admin1")
    response = client.post("/f/dvflag.users", data={
        "csrf_token": token, "op": "add", "user_id": "u-new-view1", "dept_code": "D0104", "roles": ["viewer"],
        "valid_from": "令和8年4月1日",
    })
    assert response.status_code == 200
    added = host.call("dvflag.users", host.actor("u-joho-admin2"), op="get", user_id="u-new-view1")
    assert (added.dept_code, added.roles, added.valid_from.isoformat()) == ("D0104", frozenset({"viewer"}),
                                                                          "2026-04-01")
    before = snapshot(host.engine)
    asked = post(client, "/f/dvflag.users", token, op="roles", user_id="u-joho-admin1", roles="auditor")
    assert "ロールを変更します" in asked.get_data(as_text=True)  # the descriptor's danger confirmation
    denied = client.post("/f/dvflag.users", data={
        "csrf_token": token, "op": "roles", "user_id": "u-joho-admin1", "roles": ["auditor"], "__confirmed": "yes",
    })
    assert denied.status_code == 403
    assert snapshot(host.engine) == before
    assert host.masters.audit_copy[-1].reason_code == "users.own_roles"


def test_flag_screen_withholds_the_holders_from_staff_without_a_viewing_role(app: Flask, host: MockHost) -> None:
    client, _ = signed_in(app, "u-soumu-super1")  # 全庁抽出者: may export, may not see who holds a person
    page = text_of(client.get(f"/flags?address_no={HELD}").get_data(as_text=True))
    assert "解除しないでください" in page and "照会権限のある職員のみ" in page
    assert "男女共同参画課" not in page and "D0301" not in page
    event = host.masters.audit_copy[-1]
    assert (event.action, event.target, event.details["details_withheld"]) == ("advice", HELD, True)


def test_delete_shows_the_danger_confirmation_then_deletes(app: Flask, host: MockHost) -> None:
    mine = next(r for r in registration_rows(host.engine) if r.dept_code == "D0401" and r.address_no == HELD)
    client, token = signed_in(app, "u-seikatsu-reg1")
    form = dict(record_id=str(mine.id), row_version=str(mine.row_version), reason="mistaken_entry")
    before = snapshot(host.engine)
    asked = text_of(post(client, "/f/dvflag.delete", token, **form).get_data(as_text=True))
    assert "本当に削除しますか" in asked and "削除理由 誤登録" in asked and "削除する" in asked
    assert snapshot(host.engine) == before
    done = post(client, "/f/dvflag.delete", token, __confirmed="yes", **form)
    assert f"削除しました（レコードID {mine.id}）" in text_of(done.get_data(as_text=True))
    assert all(r.id != mine.id for r in registration_rows(host.engine))
    event = host.masters.audit_copy[-1]
    assert (event.action, event.outcome, event.target) == ("delete", "ok", f"record:{mine.id}")


def test_serve_command_is_registered() -> None:
    from click.testing import CliRunner

    from dvflag_plugin.cli.main import main

    result = CliRunner().invoke(main, ["mockhost", "serve", "--help"])
    assert result.exit_code == 0
    assert "--port" in result.output and "127.0.0.1" in result.output


def test_the_plugin_and_the_mock_host_never_load_the_web_stack() -> None:
    import subprocess
    import sys

    code = "import sys, dvflag_plugin.plugin, dvflag_plugin.mockhost; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(out.split())
    assert {"flask", "werkzeug", "jinja2", "http.client"} & loaded == set()
