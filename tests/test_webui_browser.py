"""The reference host UI in a real browser: Playwright (sync API) driving Debian's chromium.

One server (a thread on 127.0.0.1, SQLite, dummy data) for the module; each test opens a fresh browser
context, signs in as one dummy staff member and checks what the screen shows and what the database and
the audit trail hold afterwards. Without chromium the tests skip, unless DVFLAG_REQUIRE_BROWSER=1.
A failing test leaves a screenshot in the temporary directory named in its failure output.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from dvflag_hookspecs import AuditEvent
from dvflag_plugin.dummydata.loader import load_small
from dvflag_plugin.mockhost import MockHost
from dvflag_plugin.mockhost.webui.app import create_app
from dvflag_plugin.mockhost.webui.seed import seed
from dvflag_plugin.mockhost.webui.server import ServerThread
from helpers import registration_rows, snapshot

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("DVFLAG_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
HELD = "000000040268728"  # held by 子ども家庭課, 男女共同参画課, 生活福祉課 (保険年金課 released it)
TIMEOUT_MS = 10_000


def _unavailable(why: str) -> None:
    if os.environ.get("DVFLAG_REQUIRE_BROWSER") == "1":
        pytest.fail(f"a browser is required (DVFLAG_REQUIRE_BROWSER=1) but {why}")
    pytest.skip(f"browser tests skipped: {why} (install Debian's chromium and fonts-noto-cjk: make browser)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium through Playwright (never a downloaded browser)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"no chromium at {CHROMIUM}")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield instance
        finally:
            instance.close()


@dataclass
class Ui:
    """The served UI and the host behind it."""

    host: MockHost
    url: str

    def events_since(self, mark: int) -> list[AuditEvent]:
        """Audit events the host received after ``mark`` (a length of its copy)."""
        return self.host.masters.audit_copy[mark:]

    @property
    def mark(self) -> int:
        """The current length of the host's audit copy."""
        return len(self.host.masters.audit_copy)


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ui]:
    """The UI over a fresh SQLite file with the dummy data, served from a thread."""
    folder = tmp_path_factory.mktemp("webui")
    host = MockHost(f"sqlite:///{folder / 'ui.sqlite3'}", data=load_small(),
                    settings={"dvflag.audit_log_path": str(folder / "audit.jsonl")})
    seed(host)
    server = ServerThread(create_app(host)).start()
    try:
        yield Ui(host, server.url)
    finally:
        server.stop()
        host.close()


@pytest.fixture
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where failure screenshots go (a temp dir, never the checkout)."""
    return tmp_path_factory.mktemp("failure-screenshots")


@pytest.fixture
def page(browser: Any, ui: Ui, request: pytest.FixtureRequest, shots: Path) -> Iterator[Any]:
    """A fresh browser context (no cookies) on the UI; a screenshot is saved if the test fails."""
    context = browser.new_context(base_url=ui.url, locale="ja-JP", accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    failed_before = request.session.testsfailed
    yield tab
    if request.session.testsfailed > failed_before:
        path = shots / f"{request.node.name}.png"
        tab.screenshot(path=str(path), full_page=True)
        print(f"failure screenshot: {path}")
    context.close()


def sign_in(page: Any, user_id: str) -> None:
    """Choose a dummy staff account on the sign-in screen."""
    page.goto("/signin")
    page.get_by_label("職員アカウント").select_option(user_id)
    page.get_by_role("button", name="サインイン").click()
    page.get_by_role("heading", name="メニュー", exact=True).wait_for()


def menu_functions(page: Any) -> set[str]:
    """The function ids the menu links to."""
    hrefs = page.locator("main ul.menu a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    return {h.removeprefix("/f/") for h in hrefs if h.startswith("/f/")}


REGISTRAR_MENU = {"dvflag.register", "dvflag.status", "dvflag.search", "dvflag.export", "dvflag.review_due"}
"""Update, release, unrelease and delete are placed on a registration's row, not in the menu."""
MENUS = {
    "u-zeimu-view1": {"dvflag.status", "dvflag.search"},
    "u-kodomo-reg1": REGISTRAR_MENU,
    "u-soumu-super1": {"dvflag.export"},
    "u-joho-admin1": {"dvflag.users"},
    "u-kansa-audit1": {"dvflag.audit"},
}


def test_each_role_sees_exactly_its_menu(page: Any, ui: Ui) -> None:
    mark = ui.mark
    for user_id, expected in MENUS.items():
        page.context.clear_cookies()
        sign_in(page, user_id)
        assert menu_functions(page) == expected, user_id
        assert page.locator("html").get_attribute("lang") == "ja"
    assert [e for e in ui.events_since(mark) if e.outcome != "ok"] == []  # showing a menu is no denial


def test_other_departments_clerk_gets_the_denial_page(page: Any, ui: Ui) -> None:
    theirs = next(r for r in registration_rows(ui.host.engine) if r.dept_code == "D0401" and r.address_no == HELD)
    sign_in(page, "u-kodomo-reg1")
    before, mark = snapshot(ui.host.engine), ui.mark
    page.goto(f"/f/dvflag.release?record_id={theirs.id}&row_version={theirs.row_version}")
    page.get_by_role("button", name="実行").click()
    assert "解除します" in page.get_by_role("alert").inner_text()  # the descriptor's confirmation text
    page.get_by_role("button", name="解除する").click()
    page.get_by_role("heading", name="操作できません").wait_for()
    assert "他所属のデータは操作できません" in page.get_by_role("alert").inner_text()
    assert snapshot(ui.host.engine) == before
    assert [(e.action, e.outcome, e.reason_code) for e in ui.events_since(mark)] == [
        ("release", "denied", "dept.other")
    ]


def test_registrar_registers_a_master_person_and_a_person_outside_the_register(page: Any, ui: Ui) -> None:
    data = ui.host.data
    taken = {r.address_no for r in data.registrations}
    master = next(p for p in data.people if p.in_master and p.address_no not in taken)
    outsider = next(p for p in data.people if not p.in_master and p.address_no not in taken)
    sign_in(page, "u-kenko-reg1")
    mark = ui.mark
    # From the person screen: 宛名番号 is bound, the person comes from the master.
    page.goto("/person")
    page.get_by_label("団体内統合宛名番号").fill(master.address_no)
    page.get_by_role("button", name="照会", exact=True).click()
    assert page.get_by_role("alert").count() == 0
    page.get_by_role("button", name="DV等被害者の登録").click()
    assert master.name in page.get_by_role("main").inner_text()
    # 住登外: entered by hand with a 和暦 birth date.
    page.goto("/f/dvflag.register")
    page.get_by_label("団体内統合宛名番号").fill(outsider.address_no)
    page.get_by_label("氏名").fill(outsider.name)
    _choose(page, "性別", str(outsider.sex_code))
    era = "令和" if outsider.birth_date >= date(2019, 5, 1) else "平成"
    year = outsider.birth_date.year - (2018 if era == "令和" else 1988)
    page.get_by_label("生年月日").fill(f"{era}{year}年{outsider.birth_date.month}月{outsider.birth_date.day}日")
    page.get_by_role("button", name="実行").click()
    page.get_by_role("status").wait_for()
    rows = {(r.address_no, r.dept_code): r for r in registration_rows(ui.host.engine)}
    assert rows[(master.address_no, "D0501")].name == master.name
    manual = rows[(outsider.address_no, "D0501")]
    assert (manual.name, manual.sex_code, manual.birth_date) == (outsider.name, outsider.sex_code,
                                                                 outsider.birth_date)
    registered = [e for e in ui.events_since(mark) if e.action == "register"]
    assert [(e.outcome, e.details["person_source"]) for e in registered] == [("ok", "host"), ("ok", "manual")]
    assert all(outsider.name not in str(e.details) for e in registered)


def _choose(page: Any, label: str, value: str) -> None:
    """Pick a value in a radio group or a select labelled ``label``."""
    group = page.get_by_role("group", name=label, exact=True)
    if group.count():
        group.locator(f"input[value='{value}']").check()
    else:
        page.get_by_label(label, exact=True).select_option(value)


def _confirm_if_asked(page: Any) -> None:
    """Press the confirmation page's button when the descriptor asks for one."""
    if page.get_by_role("heading", name="確認:").count():
        page.locator("main form button[type=submit]").click()


def test_tax_clerk_sees_the_caution_and_none_for_others(page: Any, ui: Ui) -> None:
    free = next(p.address_no for p in ui.host.data.people if p.in_master
                and p.address_no not in {r.address_no for r in registration_rows(ui.host.engine)})
    sign_in(page, "u-zeimu-view1")
    mark = ui.mark
    page.goto("/person")
    page.get_by_label("団体内統合宛名番号").fill(HELD)
    page.get_by_role("button", name="照会", exact=True).click()
    assert "【取扱注意】" in page.get_by_role("alert").inner_text()
    assert "男女共同参画課" not in page.get_by_role("alert").inner_text()  # no details in the caution
    page.get_by_label("団体内統合宛名番号").fill(free)
    page.get_by_role("button", name="照会", exact=True).click()
    page.get_by_role("heading", name=f"宛名情報（宛名番号 {free}）").wait_for()
    assert page.get_by_role("alert").count() == 0
    notices = [e for e in ui.events_since(mark) if e.action == "notices"]
    assert [(e.target, e.details["flagged_count"]) for e in notices] == [(HELD, 1), (free, 0)]


def test_flag_screen_names_the_holders_then_says_safe_once_they_release(page: Any, ui: Ui) -> None:
    person = "000000003424788"  # held by 子ども家庭課 alone; 保険年金課 registers it for this test
    hoken = ui.host.actor("u-hoken-reg1")
    ui.host.call("dvflag.register", hoken, address_no=person)
    sign_in(page, "u-hoken-reg1")
    page.goto(f"/flags?address_no={person}")
    alert = page.get_by_role("alert").inner_text()
    assert "解除しないでください" in alert
    assert "子ども家庭課" in page.get_by_role("table").inner_text()
    assert page.get_by_role("button", name="フラグを解除する").count() == 0
    kodomo = ui.host.actor("u-kodomo-reg1")
    theirs = next(r for r in registration_rows(ui.host.engine) if (r.address_no, r.dept_code) == (person, "D0201"))
    ui.host.call("dvflag.release", kodomo, record_id=theirs.id, row_version=theirs.row_version)
    mark = ui.mark
    page.reload()
    assert "解除可能" in page.get_by_role("status").first.inner_text()
    page.get_by_role("button", name="保険年金課 のフラグを解除する").click()
    assert "フラグを解除しました" in page.get_by_role("main").inner_text()
    advice = [e for e in ui.events_since(mark) if e.action == "advice"]
    assert advice and all(e.details["other_count"] == 0 for e in advice)


def test_bad_input_shows_the_japanese_error_next_to_the_field(page: Any, ui: Ui) -> None:
    outsider = next(p for p in ui.host.data.people if not p.in_master
                    and p.address_no not in {r.address_no for r in registration_rows(ui.host.engine)})
    sign_in(page, "u-gakumu-reg1")
    before = snapshot(ui.host.engine)
    page.goto("/f/dvflag.register")
    page.get_by_label("団体内統合宛名番号").fill("12-34")
    page.get_by_role("button", name="実行").click()
    assert page.locator("#f-address_no-error").inner_text() == "団体内統合宛名番号は数字のみで入力してください"
    page.get_by_label("団体内統合宛名番号").fill(outsider.address_no)
    page.get_by_label("氏名").fill(outsider.name)
    _choose(page, "性別", "1")
    page.get_by_label("生年月日").fill("令和99年1月1日")
    page.get_by_role("button", name="実行").click()
    assert "未来" in page.locator("#f-birth_date-error").inner_text()
    page.get_by_label("生年月日").fill("2001-02-03")
    # The radio group offers no wrong code: a tampered form sends one anyway.
    page.get_by_role("group", name="性別").locator("input[value='1']").evaluate("e => { e.value = '5'; }")
    page.get_by_role("button", name="実行").click()
    assert "JIS X 5218" in page.locator("#f-sex_code-error").inner_text()
    assert page.get_by_label("氏名").input_value() == outsider.name  # the typed values stay
    assert snapshot(ui.host.engine) == before


def test_stale_row_version_tells_the_clerk_to_reload(page: Any, ui: Ui) -> None:
    record = next(r for r in registration_rows(ui.host.engine) if r.dept_code == "D0301" and r.address_no == HELD)
    sign_in(page, "u-danjo-reg1")
    page.goto("/f/dvflag.search")
    page.get_by_label("団体内統合宛名番号").fill(HELD)
    page.get_by_role("button", name="実行").click()
    row = page.get_by_role("row").filter(has_text="男女共同参画課")
    width = page.viewport_size["width"]
    cut = page.locator("td.row-actions a").evaluate_all(
        f"els => els.filter(e => e.getBoundingClientRect().right > {width}).map(e => e.textContent)")
    assert cut == [], "row actions out of sight (the clerk would have to scroll sideways)"
    row.get_by_role("link", name="解除", exact=True).click()
    danjo = ui.host.actor("u-danjo-reg1")
    ui.host.call("dvflag.update", danjo, record_id=record.id, row_version=record.row_version,
                 sex_code=record.sex_code)  # another clerk saved it meanwhile
    before = snapshot(ui.host.engine)
    page.get_by_role("button", name="実行").click()
    page.get_by_role("button", name="解除する").click()
    assert "再表示" in page.get_by_role("alert").inner_text()
    assert snapshot(ui.host.engine) == before


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf"])
def test_export_download_in_each_format(page: Any, ui: Ui, fmt: str) -> None:
    sign_in(page, "u-danjo-reg1")
    page.goto("/f/dvflag.export")
    _choose(page, "出力形式", fmt)
    mark = ui.mark
    page.get_by_role("button", name="実行").click()
    assert "個人情報を含む一覧" in page.get_by_role("alert").inner_text()
    page.get_by_role("button", name="出力する").click()
    event = next(e for e in ui.events_since(mark) if e.action == "export")
    assert event.outcome == "ok"
    assert f"出力番号 {event.details['output_no']}" in page.get_by_role("main").inner_text()
    with page.expect_download() as info:
        page.get_by_role("link", name="ダウンロード").click()
    body = Path(info.value.path()).read_bytes()
    assert info.value.suggested_filename.endswith("." + fmt)
    assert hashlib.sha256(body).hexdigest() == event.details["sha256"]


def test_auditor_verifies_the_chain(page: Any, ui: Ui) -> None:
    sign_in(page, "u-kansa-audit1")
    page.goto("/f/dvflag.audit")
    _choose(page, "操作", "verify")
    mark = ui.mark
    page.get_by_role("button", name="実行").click()
    assert "検証成功" in page.get_by_role("status").first.inner_text()
    [event] = [e for e in ui.events_since(mark) if e.action == "audit"]
    assert (event.outcome, event.details["op"], event.details["ok"]) == ("ok", "verify", True)
    # Keep the signed checkpoint (copied off the screen), later paste it back: the browser sends CRLF
    # and the copy has lost the note's final newline.
    page.goto("/f/dvflag.audit")
    _choose(page, "操作", "checkpoint")
    page.get_by_role("button", name="実行").click()
    note = page.get_by_label("署名付きチェックポイント").inner_text()
    assert len(note.strip().splitlines()) >= 3
    page.goto("/f/dvflag.audit")
    page.get_by_label("チェックポイント", exact=True).fill(note.strip())
    page.get_by_role("button", name="実行").click()
    result = page.get_by_role("main").inner_text()
    assert "検証成功" in result and "一致" in result and "検出事項\nなし" in result.replace("\t", "\n")


def test_missing_csrf_token_is_refused(page: Any, ui: Ui) -> None:
    sign_in(page, "u-gakumu-reg1")
    page.goto("/f/dvflag.register")
    page.get_by_label("団体内統合宛名番号").fill("000000000000001")
    page.locator("main input[name=csrf_token]").evaluate("e => e.remove()")
    before, mark = snapshot(ui.host.engine), ui.mark
    page.get_by_role("button", name="実行").click()
    assert "CSRF" in page.get_by_role("alert").inner_text()
    assert snapshot(ui.host.engine) == before
    assert [(e.action, e.outcome, e.reason_code) for e in ui.events_since(mark)] == [
        ("webui.request", "denied", "csrf.invalid")
    ]


def test_keyboard_only_sign_in_and_reflow_at_200_percent(page: Any, ui: Ui) -> None:
    page.set_viewport_size({"width": 640, "height": 800})  # a 1280-pixel screen at 200% zoom
    page.goto("/signin")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent") == "本文へ移動"
    page.get_by_label("職員アカウント").focus()
    page.keyboard.press("ArrowDown")  # the first account
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="メニュー", exact=True).wait_for()
    for path in ("/menu", "/f/dvflag.register", f"/person?address_no={HELD}", "/f/dvflag.audit", "/f/dvflag.users"):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways at 200% zoom"
        unlabelled = page.evaluate(
            "[...document.querySelectorAll('input:not([type=hidden]), select')]"
            ".filter(e => !e.labels || e.labels.length === 0).map(e => e.name)"
        )
        assert unlabelled == [], path
