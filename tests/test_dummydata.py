"""Synthetic dummy data (ダミーデータ): determinism, the committed file, every special case, large streams."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
import tracemalloc
import unicodedata
from collections.abc import Iterator
from datetime import date
from itertools import islice
from pathlib import Path

import pytest

from dvflag_hookspecs.roles import ALL_ROLES
from dvflag_plugin.dummydata import (
    DEFAULT_TODAY,
    MIN_PEOPLE,
    SMALL_PEOPLE,
    SMALL_SEED,
    DummyDataSet,
    DummyPerson,
    DummyStaff,
    flagged_sample,
    generate,
    iter_address_numbers,
    iter_people,
    load,
    load_small,
)
from dvflag_plugin.dummydata import loader as loader_module

ROOT = Path(__file__).resolve().parents[1]
SMALL_FILE = ROOT / "fixtures" / "dummy_small.json"
IVS_RANGE = range(0xE0100, 0xE01F0)


@pytest.fixture(scope="module")
def small() -> DummyDataSet:
    """The committed small set as the loader reads it."""
    return load_small()


def names(ds: DummyDataSet) -> list[str]:
    """All 氏名 of a data set."""
    return [p.name for p in ds.people]


def surname_of(name: str) -> str:
    """The part before the first space (full-width or ASCII); whole name when there is none."""
    for i, ch in enumerate(name):
        if ch in ("\u3000", " "):
            return name[:i]
    return name


# --- determinism and the committed file ----------------------------------------------------------


def test_same_seed_gives_same_bytes() -> None:
    assert generate(SMALL_SEED, SMALL_PEOPLE).to_json() == generate(SMALL_SEED, SMALL_PEOPLE).to_json()
    assert generate(1, 45).to_json().encode() == generate(1, 45).to_json().encode()


def test_different_seed_gives_different_data() -> None:
    assert generate(1, 60).to_json() != generate(2, 60).to_json()


def test_committed_file_equals_regeneration() -> None:
    expected = generate(SMALL_SEED, SMALL_PEOPLE, today=DEFAULT_TODAY).to_json().encode("utf-8")
    assert SMALL_FILE.read_bytes() == expected, "run fixtures/generate.py to refresh the committed set"


def test_cli_script_writes_the_committed_bytes(tmp_path: Path) -> None:
    out = tmp_path / "small.json"
    cmd = [sys.executable, str(ROOT / "fixtures" / "generate.py"), "--seed", str(SMALL_SEED)]
    subprocess.run([*cmd, "--people", str(SMALL_PEOPLE), "--out", str(out)], check=True, cwd=tmp_path)
    assert out.read_bytes() == SMALL_FILE.read_bytes()
    check = subprocess.run([*cmd, "--people", "31", "--out", str(out), "--check"], cwd=tmp_path, check=False)
    assert check.returncode == 1


def test_json_round_trip(small: DummyDataSet) -> None:
    assert DummyDataSet.from_json(small.to_json()) == small
    assert load(SMALL_FILE) == small
    assert small == generate(SMALL_SEED, SMALL_PEOPLE)


def test_json_text_is_stable_form() -> None:
    text = SMALL_FILE.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert "\\u" not in text  # ensure_ascii=False: 𠮷, 﨑 and IVS are written as themselves
    assert "𠮷" in text
    assert text.startswith('{\n "format": "dvflag-dummydata/1",\n "notice": "ダミーデータ')


def test_from_json_refuses_unknown_and_bad_fields(small: DummyDataSet) -> None:
    text = small.to_json()
    with pytest.raises(ValueError, match="unknown fields"):
        DummyDataSet.from_json(text.replace('"in_master": true', '"in_master": true, "kana": "x"', 1))
    with pytest.raises(ValueError, match="sex_code"):
        DummyDataSet.from_json(text.replace('"sex_code": 1', '"sex_code": 3', 1))
    with pytest.raises(ValueError, match="address_no"):
        DummyDataSet.from_json(text.replace('"address_no": "0', '"address_no": "０', 1))
    with pytest.raises(ValueError, match="format"):
        DummyDataSet.from_json(text.replace("dvflag-dummydata/1", "other/1", 1))


def test_loader_prefers_the_packaged_copy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    packaged = tmp_path / "_fixtures"
    packaged.mkdir()
    (packaged / "dummy_small.json").write_text("packaged", encoding="utf-8")
    monkeypatch.setattr("dvflag_plugin.dummydata.loader.resources.files", lambda _pkg: tmp_path)
    assert loader_module.small_text() == "packaged"


def test_loader_fails_clearly_when_no_copy_exists(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(loader_module, "checkout_fixtures_dir", lambda: tmp_path)
    with pytest.raises(FileNotFoundError, match=r"dummy_small\.json not found.*fixtures/generate\.py"):
        loader_module.small_text()


def test_too_few_people_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 30"):
        generate(SMALL_SEED, MIN_PEOPLE - 1)


# --- special cases: in the committed set and for any seed with N >= 30 ----------------------------


def special_case_problems(ds: DummyDataSet) -> list[str]:
    """Every special case the issue asks for that the data set lacks (empty when all are present)."""
    all_names = names(ds)
    text = "".join(all_names)
    surnames = {surname_of(n) for n in all_names}
    problems: list[str] = []
    for ch, label in (("髙", "U+9AD9"), ("﨑", "U+FA11"), ("𠮷", "U+20BB7"), ("邊", "渡邊"), ("邉", "渡邉")):
        if ch not in text:
            problems.append(f"no name with {ch} ({label})")
    wanted = {"髙橋", "高橋", "山﨑", "山崎", "渡邊", "渡邉", "渡辺", "齋藤", "斉藤", "𠮷田", "吉田"}
    wanted |= {"葛\U000e0100城", "葛城", "辻\U000e0102", "辻"}
    problems += [f"surname {s!r} missing" for s in sorted(wanted - surnames)]
    if not any(ord(c) in IVS_RANGE for c in text):
        problems.append("no IVS sequence")
    if not any(ord(c) > 0xFFFF and ord(c) not in IVS_RANGE for c in text):
        problems.append("no 4-byte (non-BMP) character")
    if sum("\u3000" in n for n in all_names) < len(all_names) // 2:
        problems.append("most names must use U+3000 between surname and given name")
    if not any(" " in n for n in all_names):
        problems.append("no name with an ASCII space")
    if not any("\u3000" not in n and " " not in n for n in all_names):
        problems.append("no name without any space")
    if not any(p.address_no.startswith("0") for p in ds.people):
        problems.append("no address number with leading zeros")
    if not any(p.address_no.startswith("00000000000000") for p in ds.people):
        problems.append("no address number that is almost only zeros")
    if not any(not p.in_master for p in ds.people):
        problems.append("no 住登外 person (in_master=False)")
    codes = {p.sex_code for p in ds.people}
    problems += [f"no person with sex_code {c}" for c in (0, 1, 2, 9) if c not in codes]
    births = {p.birth_date for p in ds.people}
    for d in (date(1989, 1, 7), date(1989, 1, 8), date(2019, 4, 30), date(2019, 5, 1)):
        if d not in births:
            problems.append(f"no era-boundary birth date {d}")
    return problems


def test_committed_set_has_every_special_case(small: DummyDataSet) -> None:
    assert special_case_problems(small) == []


@pytest.mark.parametrize(("seed", "people"), [(0, 30), (1, 31), (7, 45), (99, 200), (SMALL_SEED, 1000)])
def test_every_special_case_for_any_seed(seed: int, people: int) -> None:
    ds = generate(seed, people)
    assert len(ds.people) == people
    assert special_case_problems(ds) == []


def test_special_case_check_can_fail(small: DummyDataSet) -> None:
    """The checker itself notices a missing case (guards against a vacuous test)."""
    plain = [dataclasses.replace(p, name=p.name.replace("髙", "高"), in_master=True) for p in small.people]
    problems = special_case_problems(dataclasses.replace(small, people=tuple(plain)))
    assert "no name with 髙 (U+9AD9)" in problems
    assert "no 住登外 person (in_master=False)" in problems


def test_names_are_nfc_stable_and_short(small: DummyDataSet) -> None:
    for n in names(small) + names(generate(3, 500)):
        assert unicodedata.normalize("NFC", n) == n, n
        assert 0 < len(n) <= 100
        assert n == n.strip()


def test_address_numbers_are_unique_ascii_digits(small: DummyDataSet) -> None:
    for ds in (small, generate(5, 2000)):
        nos = [p.address_no for p in ds.people]
        assert len(set(nos)) == len(nos)
        assert all(n.isascii() and n.isdigit() and len(n) == 15 for n in nos)


def test_birth_dates_are_in_the_past(small: DummyDataSet) -> None:
    assert all(date(1900, 1, 1) <= p.birth_date < small.reference_date for p in small.people)


def test_departments_named_in_the_issue_are_present(small: DummyDataSet) -> None:
    wanted = {
        "戸籍住民課", "税務課", "保険年金課", "子ども家庭課", "男女共同参画課", "生活福祉課",
        "高齢者福祉課", "障害者福祉課", "介護保険課", "健康づくり課", "教育委員会学務課",
    }  # fmt: skip
    dept_names = [d.dept_name for d in small.departments]
    assert wanted <= set(dept_names)
    assert len(small.departments) >= 14
    codes = [d.dept_code for d in small.departments]
    assert len(set(codes)) == len(codes)
    assert len(set(dept_names)) == len(dept_names)
    assert all(len(c) == 5 and c.isascii() and c.isalnum() for c in codes)


# --- staff ----------------------------------------------------------------------------------------


def test_staff_cover_every_role_and_edge_case(small: DummyDataSet) -> None:
    today = small.reference_date
    codes = {d.dept_code for d in small.departments}
    roles = {r for s in small.staff for r in s.roles}
    assert roles == set(ALL_ROLES)
    assert len({s.user_id for s in small.staff}) == len(small.staff)
    assert all(s.dept_code in codes and s.host_dept_code in codes for s in small.staff)
    assert all(s.note for s in small.staff)

    def valid(s: DummyStaff) -> bool:
        return s.valid_from <= today and (s.valid_to is None or today <= s.valid_to)

    ordinary = [
        s for s in small.staff if s.enabled and valid(s) and s.dept_code == s.host_dept_code and s.roles
    ]
    assert {r for s in ordinary for r in s.roles} == set(ALL_ROLES)
    assert len({s.dept_code for s in ordinary if "registrar" in s.roles}) >= 4
    assert any(not s.enabled for s in small.staff), "a disabled user"
    assert any(s.valid_to is not None and s.valid_to < today for s in small.staff), "validity ended"
    assert any(s.valid_from > today for s in small.staff), "not yet valid"
    assert any(s.host_dept_code != s.dept_code for s in small.staff), "host department differs"
    assert any(s.roles == () for s in small.staff), "a user with no roles"
    assert sum(1 for s in ordinary if "user_admin" in s.roles) >= 2


def test_staff_edge_cases_are_relative_to_today() -> None:
    for today in (date(2027, 4, 1), date(2027, 3, 31), date(2030, 1, 15)):
        staff = generate(1, 30, today=today).staff
        assert any(s.valid_to is not None and s.valid_to < today for s in staff)
        assert any(s.valid_from > today for s in staff)


# --- registrations --------------------------------------------------------------------------------


def test_registrations_cover_the_holding_cases(small: DummyDataSet) -> None:
    today = small.reference_date
    people = {p.address_no: p for p in small.people}
    codes = {d.dept_code for d in small.departments}
    regs = small.registrations
    assert all(r.address_no in people and r.dept_code in codes for r in regs)
    assert len({(r.address_no, r.dept_code) for r in regs}) == len(regs)
    assert all(r.input_date <= today for r in regs)
    assert all(r.release_date is None or r.release_date >= r.input_date for r in regs)

    def active(no: str) -> set[str]:
        return {
            small.department(r.dept_code).dept_name
            for r in regs
            if r.address_no == no
            and r.input_date <= today
            and (r.release_date is None or today < r.release_date)
        }

    holders = {no: active(no) for no in {r.address_no for r in regs}}
    assert {"子ども家庭課", "男女共同参画課", "生活福祉課"} in holders.values()
    assert any(len(h) == 1 for h in holders.values()), "a person held by one department"
    assert any(r.release_date is not None and not holders[r.address_no] for r in regs), "a released person"
    outside = [no for no in holders if not people[no].in_master]
    assert outside, "a 住登外 person is registered"
    assert holders[outside[0]], "a 住登外 person is held"
    assert any("𠮷" in people[no].name for no, h in holders.items() if len(h) == 3)


# --- large streaming masters ----------------------------------------------------------------------


def test_streams_are_lazy() -> None:
    """Asking for a 3,000,000-person master and taking three items allocates almost nothing."""
    tracemalloc.start()
    try:
        numbers = iter_address_numbers(3_000_000, seed=1)
        people = iter_people(3_000_000, 1)
        first = list(islice(numbers, 3))
        person = next(people)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(numbers, Iterator)
    assert isinstance(people, Iterator)
    assert len(first) == 3
    assert isinstance(person, DummyPerson)
    assert person.address_no == first[0]
    assert peak < 100_000, f"peak {peak} bytes: the stream was materialised"


def test_stream_of_200000_is_unique_without_big_structures() -> None:
    n = 200_000
    tracemalloc.start()
    try:
        count = 0
        for no in iter_address_numbers(n, seed=SMALL_SEED):
            count += 1
            if count % 997 == 0:
                assert len(no) == 15
                assert no.isascii()
                assert no.isdigit()
                assert no.startswith("0")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n
    assert peak < 1_000_000, f"streaming {n} numbers peaked at {peak} bytes: something is materialised"
    # Uniqueness of the whole stream, checked by the test (not the generator) with a compact set of ints.
    values = {int(no) for no in iter_address_numbers(n, seed=SMALL_SEED)}
    assert len(values) == n


def test_streams_are_deterministic_and_agree() -> None:
    a = list(islice(iter_address_numbers(1000, seed=3), 1000))
    assert a == list(iter_address_numbers(1000, seed=3))
    assert a != list(iter_address_numbers(1000, seed=4))
    people = list(iter_people(1000, 3))
    assert [p.address_no for p in people] == a
    assert people == list(iter_people(1000, 3))
    assert all(unicodedata.normalize("NFC", p.name) == p.name and p.in_master for p in people)
    assert {p.sex_code for p in people} <= {0, 1, 2, 9}
    assert any("髙" in p.name or "﨑" in p.name or "𠮷" in p.name for p in people)


def test_flagged_sample_is_distinct_subset_and_deterministic() -> None:
    n_master, n_flagged = 50_000, 20_000
    sample = flagged_sample(n_master, n_flagged, seed=11)
    assert len(sample) == n_flagged == len(set(sample))
    assert set(sample) <= set(iter_address_numbers(n_master, seed=11))
    assert sample == flagged_sample(n_master, n_flagged, seed=11)
    assert sample != flagged_sample(n_master, n_flagged, seed=12)
    assert sorted(flagged_sample(100, 100, seed=1)) == sorted(iter_address_numbers(100, seed=1))
    with pytest.raises(ValueError, match="n_flagged"):
        flagged_sample(10, 11, seed=1)


@pytest.mark.slow
def test_flagged_sample_of_a_million_is_fast() -> None:
    start = time.perf_counter()
    sample = flagged_sample(2_000_000, 1_000_000, seed=SMALL_SEED)
    elapsed = time.perf_counter() - start
    assert len(set(sample)) == 1_000_000
    assert elapsed < 10.0, f"flagged_sample(2M, 1M) took {elapsed:.2f}s"
