"""Benchmark of the output writers (issue 5): 100,000 rows to CSV, Excel and PDF, each beside a floor.

For every format the writer and its same-run floor consume the same lazily generated dummy rows
(ダミーデータ from ``dvflag_plugin.dummydata``) and write to a sink that discards the bytes:

- csv   floor: ``csv.writer`` of the same cell tuples (ISO dates), UTF-8, no neutralising/folding;
- cp932 floor: the same with ``encoding="cp932", errors="replace"``;
- xlsx  floor: openpyxl write-only ``append`` of the same plain values (no styles, widths, header);
- pdf   floor: reportlab drawing the same cell texts (和暦 dates) one ``drawString`` per cell, 30
  rows a page, no wrapping, no page furniture.

Time is measured in a run without tracing; peak memory (Python allocations, tracemalloc) in a second
run. The PDF font is loaded before measuring (once per process; its parse time is printed apart).
CSV is also measured at a tenth of the rows: equal peaks show it streams (memory flat in rows).
Run: ``python bench/bench_export.py`` (``--rows N`` to change the size). Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import csv
import gc
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

from openpyxl import Workbook
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfgen.canvas import Canvas

from dvflag_hookspecs.values import Registration
from dvflag_plugin.dummydata.generator import iter_people
from dvflag_plugin.dummydata.loader import load_small
from dvflag_plugin.outputs import ExportMeta, WrittenOutput, write_csv, write_pdf, write_xlsx
from dvflag_plugin.outputs.fonts import load_font
from dvflag_plugin.outputs.model import project
from dvflag_plugin.text.wareki import format_wareki

SEED = 20261126
AS_OF = date(2026, 11, 26)
META = ExportMeta(
    title="DV等支援対象者 把握状況一覧（全所属）",
    output_no="EXP-20261126-999999",
    generated_at=datetime(2026, 11, 26, 5, 3, tzinfo=UTC),
    actor_id="bench-user",
    actor_dept="D0801",
    actor_dept_name="総務課",
    as_of=AS_OF,
    scope_label="全所属",
    filters_label="すべて（ベンチマーク）",
)


class Sink:
    """A binary file that counts and discards what is written (no tell/seek: a pure stream)."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass


def rows(n: int) -> Iterator[Registration]:
    """``n`` dummy registrations, generated lazily (people from the dummy master, dummy departments)."""
    depts = load_small().departments
    for i, person in enumerate(iter_people(n, SEED)):
        dept = depts[i % len(depts)]
        input_date = date(2020 + i % 6, 1 + i % 12, 1 + i % 28)
        released = date(2026, 1 + i % 10, 1 + i % 28) if i % 5 == 0 else None
        yield Registration(
            record_id=i + 1,
            address_no=person.address_no,
            name=person.name,
            sex_code=person.sex_code,
            birth_date=person.birth_date,
            dept_code=dept.dept_code,
            dept_name=dept.dept_name,
            input_date=input_date,
            release_date=released if released is None or released >= input_date else None,
            row_version=1,
        )


def _iso_cells(reg: Registration) -> tuple[str, ...]:
    return tuple(
        "" if v is None else v.isoformat() if isinstance(v, date) else v for v in project(reg, AS_OF).cells()
    )


def floor_csv(n: int, out: Sink, encoding: str) -> WrittenOutput:
    class Text:
        def write(self, text: str) -> int:
            out.write(text.encode(encoding, "replace"))
            return len(text)

    writer = csv.writer(Text(), lineterminator="\r\n")
    count = 0
    for reg in rows(n):
        writer.writerow(_iso_cells(reg))
        count += 1
    return WrittenOutput(count, None, ())


def floor_xlsx(n: int, out: Sink) -> WrittenOutput:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("floor")
    count = 0
    for reg in rows(n):
        ws.append(project(reg, AS_OF).cells())
        count += 1
    wb.save(out)
    return WrittenOutput(count, None, ())


def floor_pdf(n: int, out: Sink) -> WrittenOutput:
    font = load_font().name
    width, height = landscape(A4)
    c: Any = Canvas(out, pagesize=(width, height), pageCompression=1)
    count = pages = 0
    y = 0.0
    for count, reg in enumerate(rows(n), start=1):
        if count % 30 == 1:
            if count > 1:
                c.showPage()
            pages += 1
            c.setFont(font, 8.5)
            y = height - 60
        x = 28.0
        for value in project(reg, AS_OF).cells():
            text = "" if value is None else format_wareki(value) if isinstance(value, date) else value
            c.drawString(x, y, text)
            x += 87
        y -= 15
    c.showPage()
    c.save()
    return WrittenOutput(count, pages + 1 if count == 0 else pages, ())


Job = Callable[[int, Sink], WrittenOutput]

CASES: list[tuple[str, Job, Job]] = [
    ("csv utf-8", lambda n, o: write_csv(rows(n), META, o), lambda n, o: floor_csv(n, o, "utf-8")),
    (
        "csv cp932",
        lambda n, o: write_csv(rows(n), META, o, encoding="cp932"),
        lambda n, o: floor_csv(n, o, "cp932"),
    ),
    ("xlsx", lambda n, o: write_xlsx(rows(n), META, o), floor_xlsx),
    ("pdf", lambda n, o: write_pdf(rows(n), META, o), floor_pdf),
]


def timed(job: Job, n: int) -> tuple[float, WrittenOutput, int]:
    gc.collect()
    sink = Sink()
    start = time.perf_counter()
    result = job(n, sink)
    return time.perf_counter() - start, result, sink.size


def peak(job: Job, n: int) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        job(n, Sink())
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def mib(b: float) -> str:
    return f"{b / 2**20:7.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--only", choices=[c[0].split()[0] for c in CASES], default=None)
    args = parser.parse_args(argv)
    n: int = args.rows

    start = time.perf_counter()
    load_font()
    print(f"PDF font parse (once per process): {time.perf_counter() - start:.2f} s")
    gen_time, _, _ = timed(lambda k, _o: WrittenOutput(sum(1 for _ in rows(k)), None, ()), n)
    print(f"generating {n:,} dummy rows alone: {gen_time:.2f} s (included in every figure below)\n")

    print(
        f"{'format':<10} {'rows':>8} {'pages':>6} {'out MiB':>8} | {'time s':>7} {'floor s':>7}"
        f" {'ratio':>6} | {'peak MiB':>8} {'floor MiB':>9} {'ratio':>6} | replaced"
    )
    for name, job, floor in CASES:
        if args.only and not name.startswith(args.only):
            continue
        t_job, result, size = timed(job, n)
        t_floor, _, _ = timed(floor, n)
        m_job, m_floor = peak(job, n), peak(floor, n)
        pages = "" if result.page_count is None else str(result.page_count)
        print(
            f"{name:<10} {result.row_count:>8,} {pages:>6} {mib(size):>8} | {t_job:7.2f} {t_floor:7.2f}"
            f" {t_job / t_floor:6.2f} | {mib(m_job):>8} {mib(m_floor):>9} {m_job / m_floor:6.2f} |"
            f" {len(result.replacements):,}"
        )
        sys.stdout.flush()

    if not args.only or args.only == "csv":
        small = n // 10
        print(
            f"\nCSV streaming: peak {mib(peak(CASES[0][1], small)).strip()} MiB at {small:,} rows,"
            f" {mib(peak(CASES[0][1], n)).strip()} MiB at {n:,} rows (flat = streamed)"
        )
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"process max RSS: {maxrss / 1024:.0f} MiB (includes the parsed font file)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
