"""The scripted walkthrough of ``make demo``: the mock host at work on SQLite with dummy data."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import click
import sqlalchemy as sa

from dvflag_hookspecs import Actor

from .dummydata.generator import iter_address_numbers
from .errors import DvflagError
from .files import private_dir, touch, write_bytes
from .mockhost import MockHost
from .plugin import service_of
from .text.wareki import format_wareki

MASTER_SIZE = 2_000_000


def _say(text: str = "") -> None:
    click.echo(text)


def _step(title: str) -> None:
    _say()
    _say(click.style(f"■ {title}", bold=True))


def _who(host: MockHost, actor: Actor) -> str:
    dept = host.data.department(actor.dept_code).dept_name
    return f"{dept}の {actor.user_id}"


def run_demo(url: str | None = None, *, master_size: int = MASTER_SIZE) -> int:
    """Run the walkthrough; returns the process exit code (0 when the audit chain verifies)."""
    if url is None:
        folder = private_dir(Path("var"))
        database = touch(folder / f"demo-{datetime.now():%Y%m%d-%H%M%S}.sqlite3")  # noqa: DTZ005 - 0600
        url = f"sqlite:///{database}"
    engine = sa.create_engine(url)
    host = MockHost(engine, settings={"dvflag.audit_log_path": "var/demo-audit.jsonl"})
    try:
        return _walkthrough(host, url, master_size)
    finally:
        host.close()
        engine.dispose()


def _walkthrough(host: MockHost, url: str, master_size: int) -> int:
    data = host.data
    today = data.reference_date
    _say(click.style("DV等被害者 把握状況共有プラグイン（dvflag）デモ — すべてダミーデータです", bold=True))
    _say(f"データベース: {url}")
    _say(f"本日: {format_wareki(today)}　プラグイン読込: {', '.join(n for n, _ in host.pm.list_name_plugin())}")

    _step("利用者登録（初期設定：運用者コマンド相当）")
    host.seed_users()
    _say(f"{len(data.staff)} 名の職員をプラグイン利用者として登録しました（監査証跡に記録）")

    person = next(p for p in data.people if p.in_master and "\u3000" in p.name)
    kodomo = host.actor("u-kodomo-reg1")
    _step("子ども家庭課の登録者が DV等被害者として登録")
    reg = host.call("dvflag.register", kodomo, address_no=person.address_no)
    _say(f"{_who(host, kodomo)} が登録: 宛名番号 {reg.address_no}（宛名システムから氏名等を取得: {reg.name}、"
         f"生年月日 {format_wareki(reg.birth_date)}）")
    danjo = host.actor("u-danjo-reg1")
    host.call("dvflag.register", danjo, address_no=person.address_no)
    _say(f"{_who(host, danjo)} も同じ方を登録しました")
    try:
        host.call("dvflag.register", kodomo, address_no=person.address_no)
    except DvflagError as err:
        _say(f"二重登録は拒否されます: {err.message}")

    _step("生活福祉課が住登外の方を手入力で登録（宛名システムに該当なし）")
    seikatsu = host.actor("u-seikatsu-reg1")
    outsider = next(p for p in data.people if not p.in_master)
    manual = host.call(
        "dvflag.register", seikatsu, address_no=outsider.address_no, name=outsider.name,
        sex_code=outsider.sex_code, birth_date=format_wareki(outsider.birth_date),
    )
    _say(f"{_who(host, seikatsu)} が登録: 宛名番号 {manual.address_no}（生年月日は和暦 "
         f"{format_wareki(manual.birth_date)} で入力、保存は ISO {manual.birth_date.isoformat()}）")

    _step("税務課の画面：注意喚起（詳細は表示しない）")
    zeimu = host.actor("u-zeimu-view1")
    for notice in host.notices(zeimu, [person.address_no]).get(person.address_no, []):
        _say(f"{_who(host, zeimu)} の画面に表示: {notice.message}")

    _step("照会者が把握状況を確認")
    viewer = host.actor("u-seikatsu-view1")
    status = host.call("dvflag.status", viewer, address_no=person.address_no)
    for h in status.holdings:
        _say(f"  保持所属: {h.dept_name}（{h.dept_code}） 入力日 {format_wareki(h.input_date)}")

    _step("保険年金課がフラグ解除の前に確認（解除アドバイス）")
    hoken = host.actor("u-hoken-reg1")
    for advice in host.advice(hoken, person.address_no):
        _say(f"  {advice.message}")
        for h in advice.other_holders:
            _say(f"  ・{h.dept_name}（{h.dept_code}） 入力日 {format_wareki(h.input_date)}")

    _step(f"バッチ：宛名マスタ全件（{master_size:,} 件）を 1 回の呼び出しで照合")
    numbers = list(iter_address_numbers(master_size, seed=20261126))
    numbers[master_size // 2] = person.address_no
    started = time.perf_counter()
    flagged = host.notices(Actor("batch-nightly", "D0102"), numbers)
    elapsed = time.perf_counter() - started
    _say(f"  注意対象 {len(flagged)} 件 / {len(numbers):,} 件、所要 {elapsed:.2f} 秒（監査イベント 1 件）")

    _step("子ども家庭課が解除 → 男女共同参画課はまだ保持")
    current = host.call("dvflag.search", kodomo, address_no=person.address_no, dept_code=kodomo.dept_code).rows[0]
    host.call("dvflag.release", kodomo, record_id=current.record_id, row_version=current.row_version)
    for advice in host.advice(kodomo, person.address_no):
        _say(f"  子ども家庭課へのアドバイス: {advice.message}")

    _step("他所属の登録は操作できない（拒否も監査に記録）")
    mine = host.call("dvflag.search", danjo, address_no=person.address_no, dept_code=danjo.dept_code).rows[0]
    try:
        host.call("dvflag.release", kodomo, record_id=mine.record_id, row_version=mine.row_version)
    except DvflagError as err:
        _say(f"  拒否: {err.message}（理由コード {err.code}）")

    _step("対象者一覧の抽出（CSV・Excel・PDF、出力ごとに監査）")
    service = service_of(host.pm)
    out_dir = Path("var") / "demo-exports"
    private_dir(out_dir)
    for fmt in ("csv", "xlsx", "pdf"):
        result = host.call("dvflag.export", danjo, format=fmt, scope="own")
        write_bytes(out_dir / result.filename, result.content)
        event = host.masters.audit_copy[-1]
        pages = f"、{result.page_count} ページ" if result.page_count else ""
        match = "一致" if event.details["sha256"] == result.sha256 else "不一致"
        _say(f"  {result.filename}（{result.row_count} 件{pages}） SHA-256 {result.sha256[:16]}… "
             f"→ 監査イベント 連番 {event.seq}（ハッシュ{match}）")
    supervisor = host.actor("u-soumu-super1")
    everything = host.call("dvflag.export", supervisor, format="csv", scope="all")
    _say(f"  全庁抽出者 {supervisor.user_id}: 全所属の一覧 {everything.row_count} 件（{everything.output_no}）")

    _step("監査証跡の検証")
    auditor = host.actor("u-kansa-audit1")
    result = service.audit(auditor, {"op": "verify"})
    head = service.audit(auditor, {"op": "checkpoint"})
    _say(f"  {result.message}")  # type: ignore[union-attr]
    _say(f"  チェックポイント（外部保管用）: {head['seq']}:{head['hash']}")  # type: ignore[index,call-overload]
    _say()
    _say("デモは以上です。監査ログ（JSON 行）: var/demo-audit.jsonl")
    return 0 if result.ok else 1  # type: ignore[union-attr]
