"""An event's row: the leaf text built from a template equals the canonical JSON verify recomputes."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dvflag_plugin.audit import chain, signing

SECRET = b"s" * 32
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)  # any text, quotes and controls too
maybe = st.none() | texts
detail_values = st.none() | st.booleans() | st.integers() | texts | st.lists(texts, max_size=3)
details = st.dictionaries(texts, detail_values, max_size=4)


def _draft(actor_id: str, dept: str, action: str, target: str | None, reason: str | None, extra: dict[str, object]
           ) -> chain.Draft:
    return chain.Draft(actor_id, dept, action, target, "ok", reason, extra)


def _recomputed(row: dict[str, object], draft: chain.Draft) -> tuple[str, str]:
    """(leaf, tag) as verify recomputes them from the stored columns."""
    stored = json.loads(str(row["details"]))
    again = chain.Draft(draft.actor_id, draft.actor_dept, draft.action, draft.target, draft.outcome,
                        draft.reason_code, stored)
    body = chain.leaf_body(str(row["event_id"]), row["occurred_at"], again)  # type: ignore[arg-type]
    return chain.leaf_hash(body), signing.event_tag(SECRET, body)


@given(texts, texts, texts, maybe, maybe, details)
def test_the_leaf_and_the_writer_tag_match_what_verify_recomputes(
    actor_id: str, dept: str, action: str, target: str | None, reason: str | None, extra: dict[str, object]
) -> None:
    draft = _draft(actor_id, dept, action, target, reason, extra)
    plain, _ = chain.event_row(draft, now=datetime(2026, 12, 2, 9, 30, tzinfo=UTC))
    assert _recomputed(plain, draft)[0] == plain["leaf_hash"]
    tagged, queued = chain.event_row(draft, now=datetime(2026, 12, 2, 9, 30, tzinfo=UTC),
                                     authenticate=lambda text: signing.tag_text(SECRET, text))
    leaf, tag = _recomputed(tagged, draft)
    assert leaf == tagged["leaf_hash"] == queued.leaf_hash
    assert json.loads(str(tagged["details"]))[chain.AUTH_FIELD] == tag


def test_a_callers_auth_key_is_replaced_by_the_writers_tag() -> None:
    draft = _draft("u-zeimu-view1", "D0102", "notices", "000000000000001", None, {"auth": "forged", "count": 1})
    row, _ = chain.event_row(draft, now=datetime(2026, 12, 2, tzinfo=UTC),
                             authenticate=lambda text: signing.tag_text(SECRET, text))
    leaf, tag = _recomputed(row, draft)
    assert json.loads(str(row["details"]))["auth"] == tag != "forged"
    assert leaf == row["leaf_hash"]


def test_a_value_that_is_not_text_takes_the_general_serialiser() -> None:
    draft = chain.Draft("u-zeimu-view1", "D0102", "notices", 12345, "ok", None, {})  # type: ignore[arg-type]
    row, _ = chain.event_row(draft, now=datetime(2026, 12, 2, tzinfo=UTC))
    body = chain.leaf_body(str(row["event_id"]), row["occurred_at"], draft)  # type: ignore[arg-type]
    assert '"target":12345' in chain.canonical_json(body)
    assert chain.leaf_hash(body) == row["leaf_hash"]


def test_event_ids_are_uuid7_in_time_order() -> None:
    ids = [chain.new_event_id() for _ in range(2000)]
    parsed = [uuid.UUID(i) for i in ids]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 and str(u) == i for u, i in zip(parsed, ids, strict=True))
    prefixes = [u.int >> 80 for u in parsed]
    assert prefixes == sorted(prefixes)  # the millisecond prefix never goes back
    assert abs(prefixes[-1] - datetime.now(UTC).timestamp() * 1000) < 60_000
    assert len(set(ids)) == len(ids)


CAUTIONS = st.sampled_from([
    {"count": 1, "flagged_count": 0}, {"count": 1, "flagged_count": 1},  # a caution's: the tag is spliced in
    {}, {"zz": "x"}, {"a": 1, "count": 1}, {"au": None}, {"authz": [1, "2"]},  # before and after "auth"
])


@given(texts, texts, texts, maybe, CAUTIONS, st.booleans())
def test_a_callers_details_json_gives_the_same_row(
    actor_id: str, dept: str, action: str, target: str | None, extra: dict[str, object], signed: bool
) -> None:
    draft = _draft(actor_id, dept, action, target, None, extra)
    sign = (lambda text: signing.tag_text(SECRET, text)) if signed else None
    given_json, _ = chain.event_row(draft, now=datetime(2026, 12, 2, tzinfo=UTC), authenticate=sign,
                                    details_json=chain.canonical_json(extra))
    assert _recomputed(given_json, draft)[0] == given_json["leaf_hash"]
    stored = json.loads(str(given_json["details"]))
    assert chain.canonical_json(stored) == given_json["details"]  # canonical, the tag included when signed
    assert (chain.AUTH_FIELD in stored) is signed and {k: v for k, v in stored.items() if k != "auth"} == extra


def test_the_json_prefix_cache_is_bounded_and_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chain, "PREFIX_CACHE_LIMIT", 3)
    monkeypatch.setattr(chain, "_PREFIXES", {})
    for i in range(10):
        draft = _draft(f"u-{i}", 'D"01\u3000', "notices", None, None, {})
        row, _ = chain.event_row(draft, now=datetime(2026, 12, 2, tzinfo=UTC))
        assert _recomputed(row, draft)[0] == row["leaf_hash"]
        assert len(chain._PREFIXES) <= 3


def test_a_forked_child_draws_other_random_bits_than_its_parent() -> None:
    chain.new_event_id()  # the parent holds a block of random bytes when it forks
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next id, through the pipe
        try:
            os.write(write, chain.new_event_id().encode())
        finally:
            os._exit(0)
    os.close(write)
    try:
        child = uuid.UUID(os.read(read, 64).decode())
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    parent = uuid.UUID(chain.new_event_id())
    random_bits = (1 << 74) - 1 & (parent.int >> 64 & 0xFFF) << 62 | parent.int & (1 << 62) - 1
    child_bits = (1 << 74) - 1 & (child.int >> 64 & 0xFFF) << 62 | child.int & (1 << 62) - 1
    assert random_bits != child_bits  # without the fork hook both would draw the same bytes of one block


@given(st.binary(min_size=0, max_size=100), texts)
def test_the_precomputed_tagger_is_hmac_sha256(secret: bytes, text: str) -> None:
    assert signing.Tagger(secret)(text) == signing.tag_text(secret, text)  # keys shorter and longer than a block
