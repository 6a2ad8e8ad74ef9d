"""The scripted walkthrough of ``make demo``: the mock host at work on SQLite with dummy data."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import click
import sqlalchemy as sa

from dvflag_hookspecs import Actor

from .cli.database import DEFAULT_SQLITE, open_engine, resolve_url, shown, sqlite_file
from .cli.errors import OperatorError
from .cli.progress import track
from .dummydata.generator import iter_address_numbers
from .errors import DvflagError
from .files import private_dir, write_bytes
from .mockhost import MockHost
from .plugin import service_of
from .storage.schema import app_user
from .text.wareki import format_wareki

MASTER_SIZE = 2_000_000


@dataclass(frozen=True, slots=True)
class DemoPlaces:
    """Where the demo works: its database (as the operator's commands find it) and its output files."""

    url: str
    explicit_url: bool
    out_dir: Path

    @property
    def audit_log(self) -> Path:
        """The JSON-lines audit file of the demo's host."""
        return self.out_dir / "audit.jsonl"

    @property
    def exports(self) -> Path:
        """The folder for the lists the demo exports."""
        return self.out_dir / "exports"


def _say(text: str = "") -> None:
    click.echo(text)


def _step(title: str) -> None:
    _say()
    _say(click.style(f"■ {title}", bold=True))


def _who(host: MockHost, actor: Actor) -> str:
    dept = host.data.department(actor.dept_code).dept_name
    return f"{dept}の {actor.user_id}"


def places(url: str | None, out_dir: Path | None) -> DemoPlaces:
    """The database every ``dvflag`` command would use, and the demo's files beside a SQLite file."""
    resolved = resolve_url(url)
    db_file = sqlite_file(resolved)
    if out_dir is None:
        out_dir = db_file.parent / "demo" if db_file is not None else DEFAULT_SQLITE.parent / "demo"
    return DemoPlaces(resolved, url is not None, out_dir)


def _start_fresh(url: str) -> None:
    """Delete a SQLite file (and its journal files); another database is never emptied, only checked."""
    db_file = sqlite_file(url)
    if db_file is None:
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        db_file.with_name(db_file.name + suffix).unlink(missing_ok=True)


def _require_empty(engine: sa.Engine) -> None:
    """The demo seeds its own users: refuse a database that already has plugin users."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(app_user.name):
            return
        users = conn.execute(sa.select(sa.func.count()).select_from(app_user)).scalar_one()
    if users:
        raise OperatorError(
            f"このデータベースには既に利用者が {users} 人登録されています。デモは空のデータベースで実行します"
            "（SQLite なら --fresh で作り直し、または --url で別のデータベースを指定）",
            f"the database already has {users} plugin users; the demo needs an empty database "
            "(--fresh recreates a SQLite file, or give another --url)",
        )


def run_demo(
    url: str | None = None, *, master_size: int = MASTER_SIZE, out_dir: Path | None = None, fresh: bool = False
) -> int:
    """Run the walkthrough; returns the process exit code (0 when the audit chain verifies).

    The database is the one every ``dvflag`` command uses (``--url``, ``$DVFLAG_DATABASE_URL``,
    ``./var/dvflag.sqlite3``), so ``dvflag export`` works right after the demo.
    """
    where = places(url, out_dir)
    if fresh:
        _start_fresh(where.url)
        where.audit_log.unlink(missing_ok=True)  # the old run's lines belong to a chain that is gone
        for old in where.exports.glob("EXP-*") if where.exports.is_dir() else ():
            old.unlink()
    with open_engine(where.url, create=True) as engine:
        _require_empty(engine)
        private_dir(where.exports)
        host = MockHost(engine, settings={"dvflag.audit_log_path": str(where.audit_log)})
        try:
            return _walkthrough(host, where, master_size)
        finally:
            host.close()


def _walkthrough(host: MockHost, where: DemoPlaces, master_size: int) -> int:
    data = host.data
    today = data.reference_date
    _say(click.style("DV等被害者 把握状況共有プラグイン（dvflag）デモ — すべてダミーデータです", bold=True))
    _say(f"データベース: {shown(where.url)}（dvflag の各コマンドと同じ / the same as every dvflag command）")
    plugins = ", ".join(n for n, _ in host.pm.list_name_plugin())
    _say(f"本日: {format_wareki(today)}（ダミーデータの基準日。デモのホストの時計）　プラグイン読込: {plugins}")

    _step("利用者登録（初期設定：運用者コマンド相当）")
    host.seed_users()
    depts = len({s.dept_code for s in data.staff})
    _say(f"ダミーデータの職員 {len(data.staff)} 名（{depts} 所属、無効・期間外の利用者を含む）をプラグイン利用者として"
         "登録しました（1 人ごとに監査証跡に記録）")

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
    label = "宛名番号を生成中 / generating numbers"
    numbers = list(track(iter_address_numbers(master_size, seed=20261126), master_size, label))
    numbers[master_size // 2] = person.address_no
    started = time.perf_counter()
    flagged = host.notices(Actor("batch-nightly", "D0102"), numbers)
    elapsed = time.perf_counter() - started
    _say(f"  注意対象 {len(flagged)} 件 / {len(numbers):,} 件、所要 {elapsed:.2f} 秒（監査イベント 1 件）")
    _say(f"  （生成した番号の中央に上で登録した方の番号を 1 件混ぜてあります。住登外の方はマスタにないので"
         f"照合の対象外です。{len(numbers):,} 件の照合でも監査イベントは 1 件です）")

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
    _say(f"  {_who(host, danjo)} が自所属の一覧を出力（有効な登録 = 上で登録した方 1 件）")
    for fmt in ("csv", "xlsx", "pdf"):
        result = host.call("dvflag.export", danjo, format=fmt, scope="own")
        write_bytes(where.exports / result.filename, result.content)
        event = host.masters.audit_copy[-1]
        pages = f"、{result.page_count} ページ" if result.page_count else ""
        match = "一致" if event.details["sha256"] == result.sha256 else "不一致"
        _say(f"  {result.filename}（{result.row_count} 件{pages}） SHA-256 {result.sha256[:16]}… "
             f"→ 監査イベント 連番 {event.seq}（ハッシュ{match}）")
    supervisor = host.actor("u-soumu-super1")
    everything = host.call("dvflag.export", supervisor, format="csv", scope="all")
    _say(f"  全庁抽出者 {supervisor.user_id}: 全所属の一覧 {everything.row_count} 件（{everything.output_no}。"
         "有効な登録だけ: 男女共同参画課と生活福祉課の住登外の方。子ども家庭課は解除したので含まれません）")

    _step("監査証跡の検証")
    auditor = host.actor("u-kansa-audit1")
    result = service.audit(auditor, {"op": "verify"})
    head = service.audit(auditor, {"op": "checkpoint"})
    _say(f"  {result.message}")  # type: ignore[union-attr]
    _say(f"  （上の操作の 1 回ごと — 照会・注意喚起・拒否・出力も — が 1 件です。検証そのものが連番 "
         f"{result.checked + 1} として記録されるので、チェックポイントはその連番を指します）")  # type: ignore[union-attr]
    _say("  チェックポイント（C2SP 署名付きノート形式。システムの外に保管） / checkpoint to keep outside the system:")
    for line in str(head["note"]).splitlines():  # type: ignore[index,call-overload]
        _say(f"    {line}")
    _say("  （デモは署名鍵なしで動かしています。`dvflag audit keygen --out FILE` で鍵を作り、設定 "
         "dvflag.audit_signing_key に指定すると、封緘とチェックポイントに Ed25519 署名が付きます / "
         "the demo runs without a signing key; configure one to sign seals and checkpoints）")
    _say()
    _say("デモは以上です。作成したファイル / files written:")
    _say(f"  データベース: {shown(where.url)}")
    _say(f"  一覧（CSV・Excel・PDF）: {where.exports.resolve()}")
    _say(f"  監査ログ（JSON 行）: {where.audit_log.resolve()}")
    url_arg = f" --url '{shown(where.url)}'" if where.explicit_url else ""
    if where.explicit_url and sa.make_url(where.url).password is not None:  # never print a password
        url_arg = ""
        _say("（パスワード付きの URL は表示しません。DVFLAG_DATABASE_URL に設定してから実行してください / "
             "set DVFLAG_DATABASE_URL to the URL first）")
    _say("続けて同じデータベースで試せます（.venv/bin/dvflag、または source .venv/bin/activate の後に dvflag）/ "
         "try next, on the same database:")
    _say(f"  dvflag users list{url_arg}")
    _say(f"  dvflag export{url_arg} --user {danjo.user_id} --dept {danjo.dept_code} --format pdf --out var/out")
    _say(f"  dvflag audit verify{url_arg}")
    return 0 if result.ok else 1  # type: ignore[union-attr]
