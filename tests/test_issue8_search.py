"""Issue 8 #4 (search finds a person, it does not list the registry) and #14 (review alert day)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dvflag_hookspecs import SearchResult
from dvflag_plugin.dummydata.model import DummyDataSet
from dvflag_plugin.errors import PermissionDenied, ValidationError
from dvflag_plugin.mockhost import MockHost, MutableClock
from dvflag_plugin.service import queries
from helpers import Row, expect_one_event, expect_refused, make_host, seed_registrations

REGISTRAR, VIEWER = "u-kodomo-reg1", "u-kodomo-view1"
OWN, OTHER = "D0201", "D0301"


@pytest.fixture
def host(engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path) -> Any:
    h = make_host(engine, data, clock, tmp_path, settings={"dvflag.search_max_rows": 3})
    people = [p for p in data.people if p.in_master][:8]
    seed_registrations(
        h, [Row(p.address_no, OWN, date(2026, 4, 1)) for p in people[:5]]
        + [Row(p.address_no, OTHER, date(2026, 4, 1)) for p in people[5:]],
    )
    yield h
    h.close()


@pytest.mark.parametrize(
    "params",
    [{}, {"state": "all"}, {"dept_code": OWN}, {"dept_code": OTHER}, {"input_from": "2020-01-01"}, {"limit": 1}],
)
def test_a_viewer_needs_a_person_criterion(host: MockHost, params: dict[str, Any]) -> None:
    err, _ = expect_refused(
        host,
        lambda: host.call("dvflag.search", host.actor(VIEWER), **params),
        error=ValidationError,
        code="invalid.criteria",
        action="search",
    )
    assert "全庁抽出者" in err.message


def test_a_registrar_lists_its_own_department_only_and_the_result_says_when_it_was_cut(host: MockHost) -> None:
    registrar = host.actor(REGISTRAR)
    found, event = expect_one_event(host, lambda: host.call("dvflag.search", registrar))
    assert isinstance(found, SearchResult)
    assert (len(found.rows), found.truncated, found.limit) == (3, True, 3)
    assert {r.dept_code for r in found.rows} == {OWN}
    assert (event.details["truncated"], event.details["count"], event.details["dept_code"]) == (True, 3, OWN)
    assert host.call("dvflag.search", registrar, dept_code=OWN, limit=2).rows.__len__() == 2
    small = host.call("dvflag.search", registrar, input_from="2026-04-02")
    assert (small.rows, small.truncated) == ((), False)
    expect_refused(
        host,
        lambda: host.call("dvflag.search", registrar, dept_code=OTHER),
        error=ValidationError,
        code="invalid.criteria",
        action="search",
    )


def test_a_limit_above_the_setting_is_refused(host: MockHost) -> None:
    err, _ = expect_refused(
        host,
        lambda: host.call("dvflag.search", host.actor(REGISTRAR), limit=4),
        error=ValidationError,
        code="invalid.max",
        action="search",
    )
    assert "3件" in err.message


def test_the_default_ceiling_is_200(engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path) -> None:
    host = make_host(engine, data, clock, tmp_path)
    try:
        with pytest.raises(ValidationError) as info:
            host.call("dvflag.search", host.actor(VIEWER), address_no="1", limit=201)
        assert info.value.rule == "max"
        assert host.call("dvflag.search", host.actor(VIEWER), address_no="1", limit=200).rows == ()
    finally:
        host.close()


def test_a_name_that_matches_nothing_is_not_folded_row_by_row(host: MockHost, monkeypatch: pytest.MonkeyPatch) -> None:
    folded: list[str] = []
    original = queries.fold_for_search

    def counting(value: str) -> str:
        folded.append(value)
        return original(value)

    monkeypatch.setattr(queries, "fold_for_search", counting)
    viewer = host.actor(VIEWER)
    assert host.call("dvflag.search", viewer, name="鬱鬱", state="all").rows == ()
    assert folded == ["鬱鬱"]  # the query only: SQL found no candidate row
    folded.clear()
    someone = next(p for p in host.data.people if p.in_master)
    surname = someone.name.split("\u3000")[0]
    found = host.call("dvflag.search", viewer, name=surname, state="all")
    assert someone.address_no in {r.address_no for r in found.rows}
    assert len(folded) <= 1 + sum(1 for p in host.data.people[:8] if surname[0] in p.name)


def test_name_narrowing_keeps_width_kana_and_variant_matches(host: MockHost) -> None:
    """The SQL narrowing is a superset of the folded match: width, kana and 異体字 still find the row."""
    person = next(p for p in host.data.people if not p.in_master)
    registrar = host.actor(REGISTRAR)
    reg = host.call(
        "dvflag.register", registrar, address_no=person.address_no, name="ｽｽﾞｷ\u3000髙﨑ＡＢ",
        sex_code=person.sex_code, birth_date=person.birth_date.isoformat(),
    )
    for query in ("すずき", "スズキ", "ズ", "高崎", "髙崎", "ab", "ｽｽﾞｷ髙"):
        rows = host.call("dvflag.search", host.actor(VIEWER), name=query).rows
        assert [r.record_id for r in rows] == [reg.record_id], query


def test_a_viewer_cannot_list_by_an_empty_search_key(host: MockHost) -> None:
    """A name that folds to nothing (only spaces) would match every row: refused."""
    expect_refused(
        host,
        lambda: host.call("dvflag.search", host.actor(VIEWER), name="\u2003\u2002"),
        error=ValidationError,
        code="invalid.search_key",
        action="search",
    )


def test_the_all_department_list_stays_the_supervisors_export(host: MockHost) -> None:
    with pytest.raises(PermissionDenied):
        host.call("dvflag.export", host.actor(REGISTRAR), scope="all")
    result = host.call("dvflag.export", host.actor("u-soumu-super1"), scope="all")
    assert result.row_count == 8


# -- 14. review alerts: from the same day one calendar month before the due date --------------------


@pytest.mark.parametrize(
    ("input_date", "first_listed"),
    [
        (date(2025, 3, 31), date(2026, 2, 28)),  # due 2026-03-31
        (date(2025, 5, 31), date(2026, 4, 30)),  # due 2026-05-31
        (date(2025, 2, 28), date(2026, 1, 28)),  # due 2026-02-28: the same day a month before
        (date(2025, 6, 15), date(2026, 5, 15)),
    ],
)
def test_a_review_item_is_listed_from_one_calendar_month_before_its_due_date(
    engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path, input_date: date, first_listed: date
) -> None:
    host = make_host(engine, data, clock, tmp_path)
    try:
        number = next(p for p in data.people if p.in_master).address_no
        seed_registrations(host, [Row(number, OWN, input_date)])
        for day, listed in ((first_listed - timedelta(days=1), False), (first_listed, True)):
            clock.set_day(day)
            items = host.call("dvflag.review_due", host.actor(REGISTRAR))
            assert bool(items) is listed, day
    finally:
        host.close()
