"""dvflag.export wired end to end: scopes, filters, formats, the audit event and its hash (issue 5)."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from openpyxl import load_workbook
from pypdf import PdfReader

from dvflag_plugin.cli.main import main
from dvflag_plugin.errors import PermissionDenied, ValidationError
from dvflag_plugin.mockhost import MockHost
from dvflag_plugin.storage import counters

HEADER = ["団体内統合宛名番号", "氏名", "性別", "生年月日", "所属コード", "所属名", "入力日", "解除日", "状態"]


def _held(host: MockHost) -> tuple[str, str, str]:
    """Two people held by 子ども家庭課 (one of them 𠮷田 …), one by 男女共同参画課."""
    kodomo, danjo = host.actor("u-kodomo-reg1"), host.actor("u-danjo-reg1")
    in_master = [p for p in host.data.people if p.in_master]
    four_byte = next(p for p in in_master if "\U00020bb7" in p.name)
    other = next(p for p in in_master if p is not four_byte)
    host.call("dvflag.register", kodomo, address_no=four_byte.address_no)
    host.call("dvflag.register", kodomo, address_no=other.address_no)
    third = next(p for p in in_master if p not in (four_byte, other))
    host.call("dvflag.register", danjo, address_no=third.address_no)
    return four_byte.address_no, other.address_no, third.address_no


def _rows(content: bytes, encoding: str = "utf-8-sig") -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode(encoding), newline="")))


def test_registrar_exports_own_department_in_every_format(host: MockHost) -> None:
    mine_a, mine_b, theirs = _held(host)
    registrar = host.actor("u-kodomo-reg1")
    result = host.call("dvflag.export", registrar, format="csv", scope="own")
    rows = _rows(result.content)
    assert rows[0] == HEADER
    assert sorted(r[0] for r in rows[1:]) == sorted([mine_a, mine_b])
    assert theirs not in {r[0] for r in rows[1:]}
    assert result.row_count == 2 and result.filename == f"{result.output_no}.csv"
    assert any("\U00020bb7" in r[1] for r in rows[1:])  # 𠮷 survives in UTF-8
    xlsx = host.call("dvflag.export", registrar, format="xlsx", scope="own")
    sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert [str(v) for v in values[0]] == ["No.", *HEADER] and len(values) == 5  # 2 rows, 合計, 以上
    assert values[3][:2] == ["合計", "2 件"] and values[4][-1] == "以上"
    pdf = host.call("dvflag.export", registrar, format="pdf", scope="own")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "取扱注意" in text and pdf.output_no in text and pdf.page_count == 1
    assert len({result.output_no, xlsx.output_no, pdf.output_no}) == 3


def test_supervisor_exports_all_departments_and_filters(host: MockHost) -> None:
    mine_a, mine_b, theirs = _held(host)
    supervisor = host.actor("u-soumu-super1")
    everything = _rows(host.call("dvflag.export", supervisor, format="csv", scope="all").content)
    assert sorted(r[0] for r in everything[1:]) == sorted([mine_a, mine_b, theirs])
    only = _rows(host.call("dvflag.export", supervisor, format="csv", scope="all", dept_code="D0301").content)
    assert [r[0] for r in only[1:]] == [theirs]
    released = _rows(host.call("dvflag.export", supervisor, format="csv", scope="all", state="released").content)
    assert released[1:] == []
    with pytest.raises(PermissionDenied) as info:
        host.call("dvflag.export", supervisor, format="csv", scope="own")
    assert info.value.code == "role.missing"


def test_each_output_is_traced_to_its_audit_event_by_hash(host: MockHost) -> None:
    _held(host)
    for fmt in ("csv", "xlsx", "pdf"):
        result = host.call("dvflag.export", host.actor("u-kodomo-reg1"), format=fmt, scope="own")
        event = host.masters.audit_copy[-1]
        assert event.action == "export" and event.outcome == "ok"
        assert event.details["sha256"] == hashlib.sha256(result.content).hexdigest() == result.sha256
        assert event.details["output_no"] == result.output_no and event.target == f"export:{result.output_no}"
        assert event.details["row_count"] == 2 and event.details["format"] == fmt
        assert event.details["page_count"] == (1 if fmt == "pdf" else None)
        assert "name" not in event.details and "birth_date" not in event.details


def test_cp932_replaces_and_reports_or_refuses_in_strict_mode(host: MockHost, engine: sa.Engine) -> None:
    four_byte, _, _ = _held(host)
    registrar = host.actor("u-kodomo-reg1")
    result = host.call("dvflag.export", registrar, format="csv", scope="own", encoding="cp932")
    rows = _rows(result.content, "cp932")
    row = next(r for r in rows[1:] if r[0] == four_byte)
    assert "〓" in row[1]
    assert result.replacements and all(label == "氏名" for _, label in result.replacements)
    assert host.masters.audit_copy[-1].details["replaced_cells"] == len(result.replacements)
    with engine.connect() as conn:
        before = counters.read(conn, "output")
    with pytest.raises(ValidationError) as info:
        host.call("dvflag.export", registrar, format="csv", scope="own", encoding="cp932", strict=True)
    assert info.value.field == "encoding"
    last = host.masters.audit_copy[-1]
    assert (last.action, last.outcome, last.reason_code) == ("export", "error", "invalid.unencodable")
    # The number was taken before the bytes were built (no lock held meanwhile): the failed export's
    # event names it, so no 出力番号 is unaccounted for in the trail.
    with engine.connect() as conn:
        assert counters.read(conn, "output") == before + 1
    assert last.details["output_no"].endswith(f"-{before + 1:06d}")
    assert last.target == f"export:{last.details['output_no']}"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"format": "docx"}, "invalid.choice"),
        ({"scope": "ward"}, "invalid.choice"),
        ({"format": "pdf", "encoding": "cp932"}, "invalid.csv_only"),
        ({"input_from": "2026-05-01", "input_to": "2026-04-01"}, "invalid.range"),
        ({"columns": "kana"}, "invalid.unknown_field"),
    ],
)
def test_bad_export_parameters(host: MockHost, params: dict[str, str], code: str) -> None:
    with pytest.raises(ValidationError) as info:
        host.call("dvflag.export", host.actor("u-kodomo-reg1"), **params)
    assert info.value.code == code
    assert host.masters.audit_copy[-1].reason_code == code


def test_operator_cli_exports_as_a_user_and_is_audited(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    host = MockHost(url)
    try:
        host.seed_users()
        _held(host)
    finally:
        host.close()
    runner = CliRunner()
    out = runner.invoke(
        main, ["export", "--url", url, "--user", "u-kodomo-reg1", "--dept", "D0201", "--format", "csv",
               "--out", str(tmp_path / "out")],
    )
    assert out.exit_code == 0, out.output
    (path,) = (tmp_path / "out").iterdir()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest in out.output
    assert "システム連携用" in out.output  # the CLI says what a CSV is for
    denied = runner.invoke(main, ["export", "--url", url, "--user", "u-zeimu-view1", "--dept", "D0102"])
    assert denied.exit_code == 2 and "権限" in denied.output
    engine = sa.create_engine(url)
    from dvflag_plugin.audit import chain

    with engine.connect() as conn:
        events = [e for e in chain.iter_events(conn) if e.action == "export"]
    assert [(e.actor_id, e.outcome) for e in events] == [("u-kodomo-reg1", "ok"), ("u-zeimu-view1", "denied")]
    assert events[0].details["sha256"] == digest and events[0].details["via"].startswith("cli:")


def test_conditions_in_wareki_and_every_file_named_by_its_output_number(host: MockHost) -> None:
    """The 条件 line shows the input-date filter in 和暦 (元年 alike in PDF and Excel); names carry 出力番号."""
    _held(host)
    supervisor = host.actor("u-soumu-super1")
    params = {"scope": "all", "input_from": "2019-05-01", "input_to": "R8.11.26"}
    expected = "入力日: 令和元年5月1日〜令和8年11月26日"
    pdf = host.call("dvflag.export", supervisor, format="pdf", **params)
    first_page = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert f"条件 状態: 有効のみ、{expected}" in first_page
    assert "所属 D0201" in first_page  # the all-department list: one department a page
    xlsx = host.call("dvflag.export", supervisor, format="xlsx", **params)
    info = dict(load_workbook(io.BytesIO(xlsx.content))["出力情報"].iter_rows(values_only=True))
    assert info["条件"] == f"状態: 有効のみ、{expected}"
    csv_result = host.call("dvflag.export", supervisor, format="csv", **params)
    for result in (pdf, xlsx, csv_result):
        assert result.output_no in result.filename and result.filename.endswith(f".{result.format}")
        assert result.usage
    assert "システム連携用" in csv_result.usage and "先頭の0" in csv_result.usage
    assert "印刷" in xlsx.usage
