"""The reference UI after the descriptors changed: search truncation, text booleans, the checkpoint note,
the verification's findings/signature/checkpoint, audit codes and times as staff read them (Flask client)."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from dvflag_plugin.mockhost import MockHost
from dvflag_plugin.mockhost.webui.app import create_app
from dvflag_plugin.mockhost.webui.seed import seed
from helpers import snapshot
from webui_support import post, signed_in, text_of

pytestmark = pytest.mark.backend("sqlite")

NOTE = re.compile(r'<pre class="note"[^>]*>([^<]+)</pre>')


@pytest.fixture
def app(host: MockHost) -> Flask:
    """The UI over the test's host with the dummy registrations."""
    seed(host, users=False)
    return create_app(host, testing=True)


def test_search_stopped_at_its_limit_says_so_as_an_alert(app: Flask) -> None:
    client, token = signed_in(app, "u-danjo-reg1")
    html = post(client, "/f/dvflag.search", token, name="田", state="all", limit="1").get_data(as_text=True)
    assert '<div class="caution" role="alert"><p>該当が多いため先頭1件のみ表示しています。' in html
    assert text_of(html).count("D0") >= 1  # the one row is shown, read at SearchResult.rows
    html = post(client, "/f/dvflag.search", token, name="田", state="all").get_data(as_text=True)
    assert "先頭" not in html and 'role="alert"' not in html


def test_checkboxes_send_text_booleans_and_enabled_has_a_not_given_state(app: Flask, host: MockHost) -> None:
    client, token = signed_in(app, "u-joho-admin1")
    form = client.get("/f/dvflag.users").get_data(as_text=True)
    assert re.search(r'<label for="f-enabled">有効</label>\s*<select id="f-enabled" name="enabled"', form)
    assert '<option value="">（指定しない）</option>' in form
    add = {"op": "add", "dept_code": "D0104", "roles": ["viewer"]}
    post(client, "/f/dvflag.users", token, user_id="u-off-view1", enabled="false", **add)
    post(client, "/f/dvflag.users", token, user_id="u-on-view1", enabled="", **add)
    admin2 = host.actor("u-joho-admin2")
    assert host.call("dvflag.users", admin2, op="get", user_id="u-off-view1").enabled is False
    on = host.call("dvflag.users", admin2, op="get", user_id="u-on-view1")
    assert on.enabled is True
    # A change of department alone leaves the account enabled (no unticked box read as "false").
    post(client, "/f/dvflag.users", token, op="update", user_id="u-on-view1", dept_code="D0105", enabled="")
    after = host.call("dvflag.users", admin2, op="get", user_id="u-on-view1")
    assert (after.dept_code, after.enabled) == ("D0105", True)
    # A two-state checkbox (export's 厳格モード) sends "true", and "false" when unticked.
    client, token = signed_in(app, "u-danjo-reg1")
    export = client.get("/f/dvflag.export").get_data(as_text=True)
    assert 'name="strict__present"' in export and 'name="strict" value="true"' in export
    done = post(client, "/f/dvflag.export", token, strict="true", strict__present="1", __confirmed="yes")
    assert host.masters.audit_copy[-1].details.get("strict") is True, text_of(done.get_data(as_text=True))


def test_checkpoint_note_is_shown_as_is_and_verifies_when_pasted_back(app: Flask, host: MockHost) -> None:
    client, token = signed_in(app, "u-kansa-audit1")
    form = client.get("/f/dvflag.audit").get_data(as_text=True)
    assert re.search(r'<label for="f-checkpoint">チェックポイント</label>\s*<textarea id="f-checkpoint"', form)
    page = post(client, "/f/dvflag.audit", token, op="checkpoint").get_data(as_text=True)
    [note] = NOTE.findall(page)
    assert note.count("\n") >= 2  # every line of the note kept
    assert "システムの外に控えてください" in page
    # A browser sends a textarea with CRLF line ends; a copied note often loses its final newline.
    pasted = "\r\n" + note.replace("\n", "\r\n").rstrip() + "\r\n\r\n"
    ok = post(client, "/f/dvflag.audit", token, op="verify", checkpoint=pasted)
    text = text_of(ok.get_data(as_text=True))
    assert "検証成功" in text and "チェックポイント照合 一致" in text and "検出事項 なし" in text
    assert "署名 署名なし（署名鍵が未設定）" in text and "unsigned" not in text
    lines = note.splitlines()
    forged = "\n".join([lines[0], str(int(lines[1]) - 1), *lines[2:]])  # another head than the one signed
    bad = post(client, "/f/dvflag.audit", token, op="verify", checkpoint=forged).get_data(as_text=True)
    assert '<p role="alert" class="bad"><strong>検証失敗</strong>' in bad
    assert "チェックポイント照合 不一致" in text_of(bad)
    assert re.search(r'<ul class="lines"><li>[^<]+</li>', bad)


def test_audit_events_show_japanese_actions_and_japan_time(app: Flask, host: MockHost) -> None:
    client, token = signed_in(app, "u-kansa-audit1")
    before = snapshot(host.engine)
    html = post(client, "/f/dvflag.audit", token, op="read", action="register", limit="3").get_data(as_text=True)
    cells = re.findall(r'<td class="fmt-code">([^<]*)</td>', html)
    assert "登録" in cells and "成功" in cells and "register" not in cells and "ok" not in cells
    first = host.call("dvflag.audit", host.actor("u-kansa-audit1"), op="read", action="register", limit=1)[0]
    assert first.occurred_at.astimezone().utcoffset() is not None
    jst = first.occurred_at.hour + 9
    assert f" {jst % 24:02d}:" in text_of(html)  # 12:00 JST, not 03:00 UTC
    assert snapshot(host.engine) == before


def test_what_a_reviewer_tripped_over_is_shown_in_plain_japanese(app: Flask, host: MockHost) -> None:
    client, token = signed_in(app, "u-danjo-reg1")
    before = snapshot(host.engine)
    # A refused birth date says why in Japanese, without the rule's code (and without echoing the value).
    html = post(client, "/f/dvflag.register", token, address_no="000000000000001", birth_date="あした").get_data(
        as_text=True)
    assert "生年月日: 日付として解釈できません" in html and "date_format" not in html and "あした" not in text_of(
        html).split("生年月日")[-1]
    assert snapshot(host.engine) == before
    # A row action's form names the registration it acts on (never a personal column).
    search = post(client, "/f/dvflag.search", token, address_no=HELD).get_data(as_text=True)
    link = re.search(r'href="(/f/dvflag\.update\?[^"]+)"', search)
    assert link is not None
    form = text_of(client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True))
    assert re.search(f"対象の登録 団体内統合宛名番号 {HELD} 所属名 [^ ]+課 入力日 令和", form)
    assert "row.name=" not in link.group(1) and "birth_date" not in link.group(1)
    # The export's format is shown by its title, not its code.
    done = post(client, "/f/dvflag.export", token, format="xlsx", __confirmed="yes").get_data(as_text=True)
    assert "<dt>出力形式</dt>\n  <dd class=\"fmt-code\">Excel</dd>" in done
    # A wrong 宛名番号 on the person screen is announced.
    person = client.get("/person?address_no=abc").get_data(as_text=True)
    assert '<p class="error" id="q-address_no-error" role="alert">' in person
    # The denial page explains in Japanese; the code is only for an enquiry.
    client, token = signed_in(app, "u-zeimu-view1")
    denied = text_of(post(client, "/f/dvflag.export", token, __confirmed="yes").get_data(as_text=True))
    assert "問い合わせ用コード:" in denied and "理由コード" not in denied



def test_row_actions_are_offered_only_on_the_clerks_own_departments_rows(app: Flask, host: MockHost) -> None:
    client, token = signed_in(app, "u-danjo-reg1")  # 男女共同参画課 (D0301)
    mark = len(host.masters.audit_copy)
    html = post(client, "/f/dvflag.search", token, address_no=HELD).get_data(as_text=True)
    rows = re.findall(r"<tr><td class=\"fmt-code\">.*?</tr>", html, re.S)
    assert len(rows) == 3
    offered = {re.search(r'fmt-code">(D\d{4})<', row).group(1): "/f/dvflag.release?" in row  # type: ignore[union-attr]
               for row in rows}
    assert offered == {"D0201": False, "D0301": True, "D0401": False}
    assert [e.outcome for e in host.masters.audit_copy[mark:]] == ["ok"]  # nothing refused on the way


HELD = "000000040268728"  # held by 子ども家庭課, 男女共同参画課, 生活福祉課 in the dummy data
