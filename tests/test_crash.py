"""Crash consistency: writers killed with SIGKILL at random moments leave a trail that seals and verifies.

After the kills and one seal: seq has no gap, each committed event is sealed exactly once, the chain
verifies, and dvf_registration equals the replay of the committed change events. ``make test`` kills
10 times per backend; ``DVFLAG_CRASH_KILLS`` (``make fuzz``) asks for more.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from datetime import date
from typing import Any

import sqlalchemy as sa

from dvflag_plugin.audit import chain, sealer
from dvflag_plugin.mockhost import MockHost
from dvflag_plugin.storage.schema import audit_event, registration

KILLS = int(os.environ.get("DVFLAG_CRASH_KILLS", "10"))
REGISTRARS = ("u-kodomo-reg1", "u-danjo-reg1", "u-seikatsu-reg1")


def _writer(url: str, seed: int, day: str, audit_path: str) -> None:  # pragma: no cover - runs in a child
    """Change and look up registrations until killed (a forked child: its own engine and host)."""
    from dvflag_plugin.errors import DvflagError
    from dvflag_plugin.mockhost import MutableClock
    from dvflag_plugin.storage.transactions import embedded_engine

    engine = embedded_engine(url)
    host = MockHost(engine, clock=MutableClock(date.fromisoformat(day)), migrate=False,
                    settings={"dvflag.audit_log_path": audit_path, "dvflag.audit_seal_batch": 3})  # fmt: skip
    rng = random.Random(seed)
    people = [p.address_no for p in host.data.people if p.in_master][:12]
    while True:
        number, user = rng.choice(people), rng.choice(REGISTRARS)
        actor = host.actor(user)
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(registration.c.id, registration.c.row_version, registration.c.release_date).where(
                    registration.c.address_no == number, registration.c.dept_code == actor.dept_code
                )
            ).first()
        try:
            if row is None or (row.release_date is not None and rng.random() < 0.5):
                host.call("dvflag.register", actor, address_no=number)
            elif row.release_date is None and rng.random() < 0.6:
                host.call("dvflag.release", actor, record_id=row.id, row_version=row.row_version)
            elif row.release_date is not None:
                host.call("dvflag.unrelease", actor, record_id=row.id, row_version=row.row_version)
            else:
                host.call("dvflag.delete", actor, record_id=row.id, row_version=row.row_version,
                          reason="mistaken_entry")  # fmt: skip
            host.notices(host.actor("u-zeimu-view1"), [number])
        except DvflagError:
            pass


def _replay(events: list[Any]) -> dict[int, tuple[str, str, bool]]:
    """record id → (address_no, dept_code, released) from the committed change events, in seq order."""
    state: dict[int, tuple[str, str, bool]] = {}
    for e in events:
        if e.outcome != "ok":
            continue
        if e.action == "register":
            state[e.details["record_id"]] = (e.target, e.details["dept_code"], False)
        elif e.action in ("release", "unrelease", "delete"):
            record_id = int(e.target.split(":")[1])
            if e.action == "delete":
                del state[record_id]
            else:
                number, dept, _ = state[record_id]
                state[record_id] = (number, dept, e.action == "release")
    return state


def test_writers_killed_at_random_moments_leave_a_whole_trail(
    host: MockHost, engine: sa.Engine, backend: str, tmp_path: Any
) -> None:
    ctx = multiprocessing.get_context("fork")
    rng = random.Random(KILLS * 7919)
    url = engine.url.render_as_string(hide_password=False)
    day = host.clock().date().isoformat()
    for k in range(KILLS):
        child = ctx.Process(target=_writer, args=(url, rng.randrange(1 << 30), day, str(tmp_path / f"w{k}.jsonl")))
        child.start()
        time.sleep(0.2 + rng.random() * 0.3)
        assert child.pid is not None and child.is_alive(), f"the writer died on its own (exit {child.exitcode})"
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
        assert child.exitcode == -signal.SIGKILL
    result = sealer.seal(engine)
    assert not result.busy
    with engine.connect() as conn:
        rows = list(conn.execute(sa.select(audit_event).order_by(audit_event.c.seq)))
        verdict = chain.verify(conn)
        table = {
            int(r.id): (r.address_no, r.dept_code, r.release_date is not None)
            for r in conn.execute(sa.select(registration))
        }
    assert all(r.sealed == 1 for r in rows), "an event committed before a crash was left unsealed"
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))  # no gap, no repeat
    assert len({r.event_id for r in rows}) == len(rows)
    assert verdict.ok, verdict.message
    events = [chain.row_to_event(r) for r in rows]
    changes = [e for e in events if e.action in ("register", "release", "unrelease", "delete") and e.outcome == "ok"]
    assert len(changes) >= KILLS, "the writers made too few changes for the test to mean anything"
    assert _replay(events) == table
