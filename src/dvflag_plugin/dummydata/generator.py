"""Deterministic generator of synthetic dummy data (ダミーデータ): a small set and streaming large masters.

Names are drawn at random from generic surname and given-name lists, so no combination is designed
after a real person; only the surnames (異体字, 4-byte, IVS) are chosen on purpose to exercise search.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from dvflag_hookspecs.roles import AUDITOR, REGISTRAR, SUPERVISOR, USER_ADMIN, VIEWER

from .model import (
    DEFAULT_TODAY,
    DummyDataSet,
    DummyDepartment,
    DummyPerson,
    DummyRegistration,
    DummyStaff,
)

SMALL_SEED: Final = 20261126
"""Seed of the committed fixtures/dummy_small.json."""
SMALL_PEOPLE: Final = 60
"""Number of people in the committed small set."""
MIN_PEOPLE: Final = 30
"""Smallest small set that still holds every special case."""
ADDRESS_NO_DIGITS: Final = 15
"""Width of generated address numbers (zero-padded ASCII digits)."""
NUMBER_SPACE: Final = 10**10
"""Large masters draw numbers from 1..NUMBER_SPACE, so every padded number has leading zeros."""

IDEOGRAPHIC_SPACE: Final = "\u3000"
IVS_1: Final = "\U000e0100"
"""葛 + VS17 is an Adobe-Japan1 sequence that IPAmj明朝 does not register: a PDF prints 葛 and reports it."""
IVS_3: Final = "\U000e0102"
"""辻 + VS19 is registered (Moji_Joho collection) and IPAmj明朝 draws it with its own glyph, mj025760:
one dot on the しんにょう where plain 辻 (mj025761) has two."""

DEPARTMENTS: Final = (
    DummyDepartment("D0101", "戸籍住民課"),
    DummyDepartment("D0102", "税務課"),
    DummyDepartment("D0103", "保険年金課"),
    DummyDepartment("D0104", "区民相談課"),
    DummyDepartment("D0201", "子ども家庭課"),
    DummyDepartment("D0202", "子育て支援課"),
    DummyDepartment("D0203", "保育課"),
    DummyDepartment("D0301", "男女共同参画課"),
    DummyDepartment("D0401", "生活福祉課"),
    DummyDepartment("D0402", "高齢者福祉課"),
    DummyDepartment("D0403", "障害者福祉課"),
    DummyDepartment("D0404", "介護保険課"),
    DummyDepartment("D0501", "健康づくり課"),
    DummyDepartment("D0502", "保健予防課"),
    DummyDepartment("D0601", "教育委員会学務課"),
    DummyDepartment("D0602", "教育委員会教育支援課"),
    DummyDepartment("D0701", "住宅課"),
    DummyDepartment("D0801", "総務課"),
    DummyDepartment("D0802", "情報政策課"),
    DummyDepartment("D0901", "監査委員事務局"),
)
"""A plausible 区役所 organisation; fixed, not random, so codes are stable across seeds."""

PLAIN_SURNAMES: Final = (
    "佐藤", "鈴木", "田中", "伊藤", "中村", "小林", "加藤", "山本", "松本", "井上",
    "木村", "清水", "森", "池田", "橋本", "石川", "前田", "藤田", "岡田", "後藤",
    "長谷川", "佐々木", "村上", "近藤", "遠藤", "青木", "坂本", "福田", "西村", "太田",
)  # fmt: skip
"""Common surnames (one-byte-per-char safe, JIS level 1)."""

VARIANT_SURNAMES: Final = (
    "髙橋", "高橋",  # 髙 U+9AD9 / 高
    "山﨑", "山崎",  # 﨑 U+FA11 (a unified ideograph in the compatibility block: NFC keeps it)
    "渡邊", "渡邉", "渡辺",
    "齋藤", "齊藤", "斉藤", "斎藤",
    "𠮷田", "吉田",  # 𠮷 U+20BB7, outside the BMP (4 bytes in UTF-8, a surrogate pair in UTF-16)
    "𡈽屋", "土屋",  # 𡈽 U+2123D, 4 bytes as well
    "葛" + IVS_1 + "城", "葛城",  # IVS: 葛 + VS17
    "辻" + IVS_3, "辻",  # IVS: 辻 + VS19, drawn by the PDF font
)  # fmt: skip
"""Surnames in variant/plain pairs so variant-folding search has something to find both ways."""

FOREIGN_SURNAMES: Final = ("ノルデン", "ベルクマン", "ソレイユ", "ヴァレンタ")
"""Invented katakana surnames for foreign residents (often 住登外)."""

MALE_GIVEN: Final = (
    "翔太", "大輔", "健一", "拓也", "直樹", "誠", "浩二", "悠人", "蓮", "陽翔", "一郎", "智也",
)  # fmt: skip
FEMALE_GIVEN: Final = (
    "陽子", "美咲", "由美", "恵", "彩", "結衣", "真由美", "花子", "さくら", "ひなた", "愛", "優子",
)  # fmt: skip
NEUTRAL_GIVEN: Final = ("薫", "渚", "光", "遥", "翼", "真琴", "ひかる", "あおい")
FOREIGN_GIVEN: Final = ("リサ", "エマ", "ルカ", "ミラ", "ノア", "ソフィア")


@dataclass(frozen=True, slots=True)
class _Spec:
    """What a special person must carry; the random parts (given name, dates) are filled in later."""

    surname: str
    sep: str = IDEOGRAPHIC_SPACE
    sex_code: int | None = None
    birth_date: date | None = None
    in_master: bool = True
    address_no: str | None = None
    given: str | None = None
    tag: str | None = None
    """Names the special person that registrations refer to."""


_MULTI, _RELEASED, _SINGLE, _ALERT, _OUTSIDE = "multi", "released", "single", "alert", "outside"

# One person per variant surname; the plain twins also carry the other special cases, so that all of
# them fit into MIN_PEOPLE people.
_SPECIALS: Final = (
    _Spec("髙橋", tag=_RELEASED),
    _Spec("高橋", sep=" "),  # ASCII space between surname and given name
    _Spec("山﨑", tag=_SINGLE),
    _Spec("山崎"),
    _Spec("渡邊"),
    _Spec("渡邉", tag=_ALERT),
    _Spec("渡辺", sex_code=0),  # 性別 unknown
    _Spec("齋藤"),
    _Spec("齊藤", sex_code=9),  # 性別 not applicable
    _Spec("斉藤", birth_date=date(1989, 1, 7)),  # last day of 昭和 (昭和64年1月7日)
    _Spec("斎藤", birth_date=date(1989, 1, 8)),  # 平成元年1月8日
    _Spec("𠮷田", tag=_MULTI),
    _Spec("吉田", birth_date=date(2019, 4, 30)),  # last day of 平成
    _Spec("𡈽屋"),
    _Spec("土屋", birth_date=date(2019, 5, 1)),  # 令和元年5月1日
    _Spec("葛" + IVS_1 + "城"),
    _Spec("葛城", birth_date=date(2000, 2, 29)),  # leap day
    _Spec("辻" + IVS_3),
    _Spec("辻", address_no="000000000000001"),  # almost only zeros
    _Spec("森", sep="", address_no="100000000000007"),  # no space at all; no leading zero
    _Spec("池田", in_master=False, tag=_OUTSIDE),  # 住登外: the host master cannot resolve it
    _Spec("ノルデン", in_master=False, given="リサ" + IDEOGRAPHIC_SPACE + "ソフィア"),  # middle name, 住登外
    _Spec("ベルクマン", sep=" ", in_master=False),  # 住登外 with ASCII space
)
_FIXED_NUMBERS: Final = frozenset(s.address_no for s in _SPECIALS if s.address_no is not None)


def generate(seed: int, people: int = SMALL_PEOPLE, *, today: date = DEFAULT_TODAY) -> DummyDataSet:
    """Build a small dummy data set deterministically from ``seed``; every special case is present.

    ``today`` is the reference date: staff validity and registration dates are placed relative to it.
    """
    if people < MIN_PEOPLE:
        raise ValueError(f"people must be at least {MIN_PEOPLE} so every special case fits, got {people}")
    rng = random.Random(seed)  # noqa: S311 - reproducible dummy data, not cryptography
    specs = list(_SPECIALS) + [_random_spec(rng) for _ in range(people - len(_SPECIALS))]
    numbers = _small_numbers(rng, people - len(_FIXED_NUMBERS))
    rng.shuffle(specs)
    persons: list[DummyPerson] = []
    chosen: dict[str, DummyPerson] = {}
    for spec in specs:
        person = _make_person(rng, spec, spec.address_no or numbers.pop(), today)
        persons.append(person)
        if spec.tag is not None:
            chosen[spec.tag] = person
    persons.sort(key=lambda p: p.address_no)
    return DummyDataSet(
        departments=DEPARTMENTS,
        people=tuple(persons),
        staff=_staff(today),
        registrations=_registrations(chosen, today),
        reference_date=today,
    )


def _random_spec(rng: random.Random) -> _Spec:
    """A filler person: mostly common surnames, sometimes a variant, rarely 住登外 or odd spacing."""
    surname = rng.choice(VARIANT_SURNAMES) if rng.random() < 0.2 else rng.choice(PLAIN_SURNAMES)
    r = rng.random()
    sep = IDEOGRAPHIC_SPACE if r < 0.85 else (" " if r < 0.93 else "")
    return _Spec(surname, sep=sep, in_master=rng.random() >= 0.05)


def _small_numbers(rng: random.Random, count: int) -> list[str]:
    """Distinct zero-padded numbers for the small set, in random order (popped from the end)."""
    values = rng.sample(range(1_000, 100_000_000), count)
    return [str(v).zfill(ADDRESS_NO_DIGITS) for v in values]


def _random_sex(rng: random.Random) -> int:
    r = rng.random()
    return 1 if r < 0.48 else 2 if r < 0.96 else 0 if r < 0.98 else 9


def _given_for(rng: random.Random, surname: str, sex_code: int) -> str:
    if surname in FOREIGN_SURNAMES:
        return rng.choice(FOREIGN_GIVEN)
    pool = MALE_GIVEN if sex_code == 1 else FEMALE_GIVEN if sex_code == 2 else NEUTRAL_GIVEN
    return rng.choice(pool)


def _random_birth(rng: random.Random, today: date) -> date:
    """A birth date between 1930-01-01 and yesterday (children and the very old included)."""
    lo = date(1930, 1, 1).toordinal()
    return date.fromordinal(rng.randrange(lo, today.toordinal()))


def _make_person(rng: random.Random, spec: _Spec, address_no: str, today: date) -> DummyPerson:
    sex_code = spec.sex_code if spec.sex_code is not None else _random_sex(rng)
    given = spec.given or _given_for(rng, spec.surname, sex_code)
    birth = spec.birth_date or _random_birth(rng, today)
    return DummyPerson(
        address_no=address_no,
        name=spec.surname + spec.sep + given,
        sex_code=sex_code,
        birth_date=birth,
        in_master=spec.in_master,
    )


def _fiscal_year_start(today: date) -> date:
    """1 April of the fiscal year (年度) containing ``today``: staff changes happen then."""
    return date(today.year if today.month >= 4 else today.year - 1, 4, 1)


def _staff(today: date) -> tuple[DummyStaff, ...]:
    """Staff of every role in several departments, plus one user per denial edge case."""
    fy = _fiscal_year_start(today)
    since = fy.replace(year=fy.year - 1)
    fy_end = fy.replace(year=fy.year + 1) - timedelta(days=1)

    def user(
        user_id: str,
        dept: str,
        roles: tuple[str, ...],
        note: str,
        *,
        host_dept: str | None = None,
        enabled: bool = True,
        valid_from: date = since,
        valid_to: date | None = None,
    ) -> DummyStaff:
        return DummyStaff(user_id, dept, host_dept or dept, roles, enabled, valid_from, valid_to, note)

    return (
        user("u-kodomo-reg1", "D0201", (REGISTRAR,), "registrar of 子ども家庭課"),
        user("u-kodomo-view1", "D0201", (VIEWER,), "viewer of 子ども家庭課"),
        user("u-danjo-reg1", "D0301", (REGISTRAR,), "registrar of 男女共同参画課"),
        user("u-seikatsu-reg1", "D0401", (REGISTRAR,), "registrar of 生活福祉課"),
        user("u-seikatsu-view1", "D0401", (VIEWER,), "viewer of 生活福祉課"),
        user("u-hoken-reg1", "D0103", (REGISTRAR,), "registrar of 保険年金課"),
        user("u-kenko-reg1", "D0501", (REGISTRAR,), "registrar of 健康づくり課"),
        user("u-gakumu-reg1", "D0601", (REGISTRAR,), "registrar of 教育委員会学務課"),
        user("u-koseki-view1", "D0101", (VIEWER,), "viewer of 戸籍住民課 (counter staff checking status)"),
        user("u-zeimu-view1", "D0102", (VIEWER,), "viewer of 税務課"),
        user(
            "u-kourei-temp1", "D0402", (VIEWER,),
            "viewer of 高齢者福祉課 with a fixed term ending at fiscal-year end (still valid)",
            valid_to=fy_end,
        ),
        user("u-soumu-super1", "D0801", (SUPERVISOR,), "supervisor only: exports all departments"),
        user(
            "u-danjo-super1", "D0301", (REGISTRAR, SUPERVISOR),
            "registrar and supervisor of 男女共同参画課",
        ),
        user("u-joho-admin1", "D0802", (USER_ADMIN,), "user_admin of 情報政策課; sees no registrations"),
        user("u-joho-admin2", "D0802", (USER_ADMIN,), "second user_admin: changes the first one's roles"),
        user("u-kansa-audit1", "D0901", (AUDITOR,), "auditor of 監査委員事務局; sees no registrations"),
        user("u-kodomo-disabled1", "D0201", (REGISTRAR,), "edge case: disabled user", enabled=False),
        user(
            "u-seikatsu-expired1", "D0401", (REGISTRAR,),
            "edge case: validity ended at the end of the previous fiscal year",
            valid_from=since.replace(year=since.year - 1), valid_to=fy - timedelta(days=1),
        ),
        user(
            "u-kaigo-future1", "D0404", (REGISTRAR,),
            "edge case: not yet valid (starts next fiscal year)",
            valid_from=fy.replace(year=fy.year + 1),
        ),
        user(
            "u-hoken-moved1", "D0103", (REGISTRAR,),
            "edge case: registry says 保険年金課 but the host reports 税務課 (moved department)",
            host_dept="D0102",
        ),
        user("u-zeimu-noroles1", "D0102", (), "edge case: registered user with no roles"),
    )  # fmt: skip


def _registrations(chosen: dict[str, DummyPerson], today: date) -> tuple[DummyRegistration, ...]:
    """A handful of holdings: one person held by several departments, one released, single holders."""

    def reg(key: str, dept: str, ago: int, released_ago: int | None = None) -> DummyRegistration:
        release = None if released_ago is None else today - timedelta(days=released_ago)
        return DummyRegistration(chosen[key].address_no, dept, today - timedelta(days=ago), release)

    rows = (
        reg(_MULTI, "D0201", 200),  # 子ども家庭課
        reg(_MULTI, "D0301", 150),  # 男女共同参画課
        reg(_MULTI, "D0401", 90),  # 生活福祉課
        reg(_MULTI, "D0103", 500, released_ago=300),  # 保険年金課, released long ago
        reg(_RELEASED, "D0401", 400, released_ago=30),  # released: nobody holds this person now
        reg(_SINGLE, "D0103", 100),  # held by one department only
        reg(_ALERT, "D0201", 350),  # review due within the one-month alert window
        reg(_OUTSIDE, "D0301", 380),  # 住登外 person, review overdue (> 1 year)
    )
    return tuple(sorted(rows, key=lambda r: (r.address_no, r.dept_code)))


# --- large masters -------------------------------------------------------------------------------


class _Numbering:
    """A seeded bijection i ↦ 1 + (a·i + b) mod NUMBER_SPACE: unique numbers with no table kept."""

    __slots__ = ("_a", "_b")

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"dvflag-numbering:{seed}")  # noqa: S311 - reproducible dummy data
        a = rng.randrange(NUMBER_SPACE // 3, NUMBER_SPACE)
        while math.gcd(a, NUMBER_SPACE) != 1:
            a += 1
        self._a = a
        self._b = rng.randrange(NUMBER_SPACE)

    def number(self, index: int) -> str:
        """The address number at position ``index`` of the master, 15 ASCII digits zero-padded."""
        return f"{1 + (self._a * index + self._b) % NUMBER_SPACE:0{ADDRESS_NO_DIGITS}d}"


def _check_size(n: int, what: str) -> None:
    if not 0 <= n <= NUMBER_SPACE:
        raise ValueError(f"{what} must be between 0 and {NUMBER_SPACE}, got {n}")


def iter_address_numbers(n: int, *, seed: int) -> Iterator[str]:
    """Lazily yield ``n`` distinct 15-digit address numbers of a large master (e.g. 2,000,000)."""
    _check_size(n, "n")
    return _iter_numbers(_Numbering(seed), n)


def _iter_numbers(numbering: _Numbering, n: int) -> Iterator[str]:
    number = numbering.number
    for i in range(n):
        yield number(i)


def iter_people(n: int, seed: int) -> Iterator[DummyPerson]:
    """Lazily yield ``n`` master people; their numbers equal iter_address_numbers(n, seed=seed)."""
    _check_size(n, "n")
    return _iter_people(n, seed)


def _iter_people(n: int, seed: int) -> Iterator[DummyPerson]:
    rng = random.Random(f"dvflag-people:{seed}")  # noqa: S311 - reproducible dummy data
    rand, choice = rng.random, rng.choice
    lo = date(1930, 1, 1).toordinal()
    span = DEFAULT_TODAY.toordinal() - lo
    fromordinal = date.fromordinal
    genders = (MALE_GIVEN, FEMALE_GIVEN)
    for address_no in _iter_numbers(_Numbering(seed), n):
        surname = choice(VARIANT_SURNAMES) if rand() < 0.1 else choice(PLAIN_SURNAMES)
        r = rand()
        if r < 0.99:
            sex_code = 1 if r < 0.495 else 2
            given = choice(genders[sex_code - 1])
        else:
            sex_code = 0 if r < 0.995 else 9
            given = choice(NEUTRAL_GIVEN)
        yield DummyPerson(
            address_no=address_no,
            name=surname + IDEOGRAPHIC_SPACE + given,
            sex_code=sex_code,
            birth_date=fromordinal(lo + int(rand() * span)),
            in_master=True,
        )


def flagged_sample(n_master: int, n_flagged: int, seed: int) -> list[str]:
    """``n_flagged`` distinct numbers of the master iter_address_numbers(n_master, seed=seed).

    The choice is seeded too, so benchmarks flag the same people every run.
    """
    _check_size(n_master, "n_master")
    if not 0 <= n_flagged <= n_master:
        raise ValueError(f"n_flagged must be between 0 and n_master ({n_master}), got {n_flagged}")
    rng = random.Random(f"dvflag-flagged:{seed}")  # noqa: S311 - reproducible dummy data
    number = _Numbering(seed).number
    return [number(i) for i in rng.sample(range(n_master), n_flagged)]


__all__ = [
    "DEPARTMENTS",
    "MIN_PEOPLE",
    "SMALL_PEOPLE",
    "SMALL_SEED",
    "flagged_sample",
    "generate",
    "iter_address_numbers",
    "iter_people",
]
