"""Capture the README's screenshots of the reference UI (dummy data only).

Run from the checkout: ``.venv/bin/python docs/screenshots/capture.py`` (needs Debian's chromium).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from dvflag_plugin.mockhost import MockHost
from dvflag_plugin.mockhost.webui.app import create_app
from dvflag_plugin.mockhost.webui.seed import seed
from dvflag_plugin.mockhost.webui.server import ServerThread

OUT = Path(__file__).resolve().parent
HELD = "000000040268728"


def sign_in(page: Page, user_id: str) -> None:
    page.context.clear_cookies()
    page.goto("/signin")
    page.get_by_label("職員アカウント").select_option(user_id)
    page.get_by_role("button", name="サインイン").click()


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print(OUT / f"{name}.png")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        host = MockHost(f"sqlite:///{tmp}/ui.sqlite3", settings={"dvflag.audit_log_path": f"{tmp}/audit.jsonl"})
        seed(host)
        server = ServerThread(create_app(host)).start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
                page = browser.new_context(base_url=server.url, locale="ja-JP",
                                           viewport={"width": 1280, "height": 720}).new_page()
                page.goto("/signin")
                shot(page, "01-signin")
                sign_in(page, "u-danjo-reg1")
                shot(page, "02-menu-registrar")
                page.goto(f"/person?address_no={HELD}")
                shot(page, "03-person-caution")
                page.goto("/f/dvflag.register")
                page.get_by_label("団体内統合宛名番号").fill("12-34")
                page.get_by_role("button", name="実行").click()
                shot(page, "04-register-error")
                page.goto("/f/dvflag.search")
                page.get_by_label("団体内統合宛名番号").fill(HELD)
                page.get_by_role("button", name="実行").click()
                shot(page, "05-search-result")
                page.get_by_role("row").filter(has_text="男女共同参画課").get_by_role("link", name="解除", exact=True).click()
                page.get_by_role("button", name="実行").click()
                shot(page, "06-release-confirm")
                sign_in(page, "u-hoken-reg1")
                page.goto(f"/flags?address_no={HELD}")
                shot(page, "07-flag-screen-held")
                sign_in(page, "u-danjo-reg1")
                page.goto("/f/dvflag.export")
                page.get_by_role("group", name="出力形式").locator("input[value='pdf']").check()
                page.get_by_role("button", name="実行").click()
                page.get_by_role("button", name="出力する").click()
                shot(page, "08-export-result")
                sign_in(page, "u-joho-admin1")
                page.goto("/f/dvflag.users")
                page.get_by_role("button", name="実行").click()
                shot(page, "09-users-list")
                sign_in(page, "u-kansa-audit1")
                page.goto("/f/dvflag.audit")
                page.get_by_label("操作", exact=True).select_option("checkpoint")
                page.get_by_role("button", name="実行").click()
                shot(page, "11-audit-checkpoint")
                note = page.get_by_label("署名付きチェックポイント").inner_text()
                page.goto("/f/dvflag.audit")
                page.get_by_label("チェックポイント", exact=True).fill(note)
                page.get_by_role("button", name="実行").click()
                shot(page, "10-audit-verify")
                browser.close()
        finally:
            server.stop()
            host.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
