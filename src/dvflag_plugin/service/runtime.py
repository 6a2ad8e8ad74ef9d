"""The per-host runtime: settings, clock, host services, and the audited-operation envelope.

Every operation runs as: check access → do the work → queue its event (unsealed) → commit. A change
commits its event in the same transaction as the change; a read commits its event on its own. No
call takes the audit head: the sealer numbers and chains queued events in short batches, run
opportunistically after calls (a try-lock: a busy sealer is skipped), by ``dvflag audit seal`` and
before verify. A failure rolls the work back and is audited on its own (denials and errors alike).
Storage failures reach the host as ``StorageError`` and are logged without SQL or parameters.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa

from dvflag_hookspecs import Actor, AuditEvent, PluginServiceCaller

from ..audit import chain, sealer, signing
from ..audit.ledger import ROUND_CHECKS, Ledger
from ..audit.seal_worker import SealWorker
from ..audit.sink import AuditSink
from ..config import Settings
from ..errors import DvflagError, InvalidActorError, PermissionDenied, StorageError, ValidationError
from ..rules import permissions
from ..rules.validation import PERSONAL_FIELDS, bounded, label
from ..storage import counters, direct, migrate
from ..storage.exact import exactly
from ..storage.schema import app_user, user_role
from ..storage.transactions import begin_write, clean, transaction, with_retries
from ..text.wareki import EraTable
from . import audit_trust

T = TypeVar("T")

_log = logging.getLogger("dvflag")

_account_by_user_id = sa.select(
    app_user.c.id, app_user.c.user_id, app_user.c.dept_code, app_user.c.enabled,
    app_user.c.valid_from, app_user.c.valid_to,
).where(exactly(app_user.c.user_id, sa.bindparam("user_id")))
_roles_of = sa.select(user_role.c.role_name).where(user_role.c.user_pk == sa.bindparam("user_pk"))


CLOSE_SEAL_WAIT_S = 2.0
"""How long ``close`` keeps trying when another process holds the sealer."""

AUDIT_MESSAGE_MAX = 200
"""An echoed error message is cut to this many characters in the audit event."""

INVALID_ACTOR = Actor(user_id="(invalid-actor)", dept_code="(invalid)")
"""Placeholder recorded when the host hands over a malformed Actor (never a usable id: '(' is refused)."""


def audit_message(err: DvflagError) -> str:
    """The error's message as the audit event records it: never echoes a typed 氏名 or 生年月日, capped."""
    if isinstance(err, ValidationError) and err.field in PERSONAL_FIELDS:
        return f"{label(err.field)}の入力が不正です（{err.rule}）"
    return err.message[:AUDIT_MESSAGE_MAX]


def actor_problem(actor: object, settings: Settings) -> str | None:
    """Why ``actor`` is not a clean host identity (user id and department code syntax), or None."""
    if not isinstance(actor, Actor):
        return "type"
    user_id, dept = actor.user_id, actor.dept_code
    if not isinstance(user_id, str) or not (
        settings.code_regex("user_id").fullmatch(user_id)
        or (user_id.startswith("cli:") and settings.code_regex("user_id").fullmatch(user_id[4:]))
    ) or len(user_id) > 64:
        return "user_id"
    if not isinstance(dept, str) or len(dept) > 16 or not settings.code_regex("dept_code").fullmatch(dept):
        return "dept_code"
    return None


CLEAN_ACTORS_LIMIT = 4096
"""Checked actors a runtime remembers; the set starts over beyond this."""


def actor_is_clean(rt: Runtime, actor: object) -> bool:
    """``actor_problem`` is None, remembered per runtime for exact ``Actor`` values of plain strings."""
    if type(actor) is not Actor or type(actor.user_id) is not str or type(actor.dept_code) is not str:
        return actor_problem(actor, rt.settings) is None
    clean = rt.clean_actors
    if actor in clean:
        return True
    if actor_problem(actor, rt.settings) is not None:
        return False
    if len(clean) >= CLEAN_ACTORS_LIMIT:
        clean.clear()
    clean.add(actor)
    return True


def day_span(settings: Settings, day: date) -> tuple[datetime, datetime, date] | None:
    """(first instant, first instant of the next day, day) of a local day in UTC; None if the zone is odd."""
    tz, tick = settings.tz, timedelta(microseconds=1)
    try:
        start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
        end = (datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(days=1)).astimezone(UTC)
        edges = [settings.local_day(t) for t in (start - tick, start, end - tick, end)]
    except OverflowError:  # the first or last representable day
        return None
    return (start, end, day) if edges[0] != day and edges[1] == day == edges[2] and edges[3] != day else None


def utc_now() -> datetime:
    """The default clock: an aware UTC datetime."""
    return datetime.now(UTC)


def load_account(conn: sa.Connection, user_id: str) -> permissions.Account | None:
    """The registry entry of a host user id, or None."""
    row = conn.execute(_account_by_user_id, {"user_id": user_id}).first()
    if row is None or row.user_id != user_id:  # exact, whatever the database's collation says
        return None
    roles = frozenset(r for (r,) in conn.execute(_roles_of, {"user_pk": row.id}))
    return permissions.Account(
        user_id=row.user_id, dept_code=row.dept_code, roles=roles, enabled=bool(row.enabled),
        valid_from=row.valid_from, valid_to=row.valid_to,
    )


@dataclass
class Op:
    """One operation in progress: its connection, time, actor and what its audit event will say."""

    rt: Runtime
    conn: sa.Connection
    now: datetime
    today: date
    actor: Actor
    action: str
    target: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    changed: bool = False
    touched: set[str] = field(default_factory=set)
    _account: permissions.Account | None = None
    _account_loaded: bool = False
    _change_no: int | None = None

    def change_no(self) -> int:
        """The registration change counter as this operation first read it (no lock)."""
        if self._change_no is None:
            self._change_no = counters.change_no(self.conn)
        return self._change_no

    def changed_number(self, address_no: str) -> None:
        """Mark a registration change of ``address_no`` (counted and logged at commit)."""
        self.changed = True
        self.touched.add(address_no)

    def account(self) -> permissions.Account | None:
        """The actor's registry entry (loaded once)."""
        if not self._account_loaded:
            self._account = load_account(self.conn, self.actor.user_id)
            self._account_loaded = True
        return self._account

    def denial(self, action: str, dept_code: str | None = None) -> str | None:
        """The reason ``action`` is denied (registry first, then the host's narrowing), or None."""
        reason = permissions.decide(self.account(), self.actor.dept_code, action, dept_code, self.today)
        if reason is None and self.rt.host is not None:
            answer = self.rt.host.authorization(self.actor, action, dept_code)
            if answer == "invalid":
                self.rt.host_mistake(action)
            reason = {"allow": None, "deny": "host.denied", "invalid": "host.invalid_answer"}[answer]
        return reason

    def require_role(self, *actions: str) -> None:
        """Registry-only pre-check (role, validity, department match) before any input is read.

        Allowed when any of ``actions`` is. The host's ``dvflag_authorize`` is asked later, once,
        with the department the action touches.
        """
        reasons = [permissions.decide(self.account(), self.actor.dept_code, a, None, self.today) for a in actions]
        if all(r is not None for r in reasons):
            reason = reasons[0] or "role.missing"
            raise PermissionDenied(permissions.DENIAL_MESSAGES[reason], code=reason)

    def require(self, action: str, dept_code: str | None = None) -> permissions.Account:
        """Allow or raise PermissionDenied with the reason (audited by the envelope)."""
        reason = self.denial(action, dept_code)
        if reason is not None:
            raise PermissionDenied(permissions.DENIAL_MESSAGES[reason], code=reason)
        account = self.account()
        if account is None:  # pragma: no cover - decide() denies a missing account
            raise PermissionDenied(permissions.DENIAL_MESSAGES["user.unknown"], code="user.unknown")
        return account


class Runtime:
    """Everything one host instance's plugin needs; no global state."""

    def __init__(
        self,
        *,
        engine: sa.Engine,
        settings: Settings | None = None,
        clock: Callable[[], datetime] = utc_now,
        plugin_manager: Any = None,
        check_schema: bool = True,
        audit_reader: bool = False,
    ) -> None:
        self.engine = engine
        self.settings = settings or Settings()
        self.clock = clock
        self.plugin_manager = plugin_manager
        self.host = PluginServiceCaller(plugin_manager) if plugin_manager is not None else None
        eras = EraTable.default()
        self.eras = eras.with_extra(self.settings.extra_eras) if self.settings.extra_eras else eras
        self.sink = AuditSink(path=self.settings.audit_log_path, logger_name=self.settings.audit_logger_name)
        self.audit_keys = signing.configured_keys(
            self.settings.audit_signing_key, self.settings.audit_verify_key, self.settings.audit_origin, announce=True
        )
        self.active_cache: tuple[int, date, frozenset[str], datetime] | None = None
        """Held numbers: (change counter, local day, numbers, when built as naive UTC)."""
        self.direct_cautions = self.settings.caution_driver_path and direct.usable(engine)
        """Screen cautions answered from a current cache go to the driver (storage/direct.py)."""
        self.caution_line = direct.Pinned(engine)
        """The pool connection this process keeps for screen cautions (checked out on first use)."""
        self._day_span: tuple[datetime, datetime, date] | None = None
        self.clean_actors: set[Actor] = set()
        """Actors ``actor_problem`` passed (screen cautions skip the check; bounded, see ``actor_is_clean``)."""
        self._host_mistake_logged = False
        self.signer: sealer.Signer | None = audit_trust.seal_signer(self.audit_keys)
        secret = self.audit_keys.auth_secret
        self.authenticate = signing.Tagger(secret) if secret is not None else None
        self.ledger = Ledger(authenticate=self.authenticate)
        """The events this process queued and committed, until a seal round sees them sealed (audit/ledger.py)."""
        self.key_required = False
        """No signing key here and the trail has signed seals: every audit write is refused (``require_key``)."""
        self._seal_lock = threading.Lock()
        self._sealing = threading.Lock()
        self._pending = 0
        self._pending_since = 0.0
        self._wake_at = max(self.settings.audit_seal_batch, sealer.DEFAULT_BATCH)
        """Queued screen cautions that wake the sealing thread before its interval: one full sealer batch."""
        self._unsealed = False  # queued since this process last sealed without finding the sealer busy
        self._needs_key_logged = False
        self._keyless = False  # the last seal found a signed trail and no key here
        self._seal_failing = False
        self._worker = (
            SealWorker(self._seal_round, self.settings.audit_seal_interval_s)
            if self.settings.audit_seal_background
            else None
        )
        if check_schema:
            migrate.require_head(engine)
        if self.audit_keys.signer is None:  # once per runtime; a keyed one never asks
            self.key_required = audit_trust.trail_is_signed(engine)
            if self.key_required and not audit_reader:  # a reader (verify with the public key) writes nothing
                self.sink.close()
                raise signing.SigningKeyRequired
        self._closed = False
        self._pid = os.getpid()
        _OPEN.add(self)

    # -- time -------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The host clock as an aware UTC datetime."""
        now = self.clock()
        if now.tzinfo is UTC:
            return now
        if now.tzinfo is None:
            raise ValueError("the host clock must return an aware datetime")
        return now.astimezone(UTC)

    def today(self) -> date:
        """The municipality's local day."""
        return self.local_day(self.now())

    def local_day(self, now: datetime) -> date:
        """``settings.local_day(now)``; answered from the last day's UTC span while ``now`` falls in it."""
        span = self._day_span
        if span is not None and span[0] <= now < span[1]:
            return span[2]
        day = self.settings.local_day(now)
        self._day_span = day_span(self.settings, day)
        return day

    def require_key(self) -> None:
        """Refuse an audit write on a signed trail without the key (a bool: once per runtime, see ``__init__``).

        Called by every path that queues an event: ``run``, ``audit_alone`` and the screen cautions' driver path.
        """
        if self.key_required:
            raise signing.SigningKeyRequired

    def host_mistake(self, action: str) -> None:
        """Log once that the host's dvflag_authorize answered outside True/False/None (no personal data)."""
        if not self._host_mistake_logged:
            self._host_mistake_logged = True
            _log.error("dvflag: dvflag_authorize answered neither True, False nor None (action %s); denied", action)

    # -- the audited envelope -----------------------------------------------------------------

    def run(
        self, actor: Actor, action: str, work: Callable[[Op], T], *, target: str | None = None,
        via: str | None = None, writes: bool = False, params: Mapping[str, Any] | None = None,
        reads_alone: bool = False,
    ) -> T:
        """Run ``work`` in one audited transaction; audit a failure on its own and re-raise it.

        ``writes``: the work changes rows (on SQLite the transaction takes the write lock first);
        otherwise it only reads, without locks, and takes the write lock just for its event.
        ``reads_alone``: the work's reads need no shared snapshot (a caution: the counter, then
        the numbers it names); its event insert may then commit by itself (``one_write_last``).
        """
        self.require_key()  # refused before anything: not even the refusal can be audited
        now = self.now()
        today = self.local_day(now)
        problem = actor_problem(actor, self.settings)
        if problem is not None:  # refused before anything else; audited under a placeholder id
            err = InvalidActorError(f"ホストから渡された操作者の情報が不正です（{problem}）")
            self.audit_alone(
                INVALID_ACTOR, action, None, "denied", err.code, {"message": err.message, "actor_field": problem},
                now=now,
            )
            raise err
        seen: dict[str, Any] = {"target": target, "details": {}}

        def attempt() -> tuple[T, chain.Queued]:
            with transaction(self.engine, write=writes, one_write_last=reads_alone) as conn:
                op = Op(self, conn, now, today, actor, action, target=target)
                if via is not None:  # e.g. "cli:operator" when an operator acts for a user
                    op.details["via"] = via
                try:
                    result = work(op)
                finally:
                    seen["target"], seen["details"] = op.target, op.details
                if op.changed:
                    if reads_alone:  # pragma: no cover - a programming error: the change would commit alone
                        raise RuntimeError("an operation run with reads_alone changed a registration")
                    counters.record_changes(conn, op.touched or [None], now=now)
                begin_write(conn)
                queued = chain.enqueue(
                    conn, self._draft(op.actor, action, op.target, "ok", None, op.details), now=now,
                    authenticate=self.authenticate,
                )
            return result, queued  # committed: the attempt that returns is the one the ledger records

        failure: BaseException | None = None
        try:
            if params is not None:
                bounded(params)  # before any database work
            result, queued = clean(lambda: with_retries(attempt))
        except DvflagError as err:
            outcome: chain.Outcome = "denied" if isinstance(err, PermissionDenied) else "error"
            details = dict(seen["details"])
            details["message"] = audit_message(err)
            self._audit_failure(actor, action, seen["target"], outcome, err.code, details, now)
            failure = err
        except Exception as err:
            # An unexpected failure (a bug): still audited when the database lets us, with the
            # exception's type only — its text may quote input.
            self._audit_failure(
                actor, action, seen["target"], "error", "internal", {"exception": type(err).__name__}, now
            )
            failure = err
        if failure is not None:
            raise failure  # outside the handler: no chained context
        self.queued(queued, screen=reads_alone)  # a caution never waits for a seal
        return result

    def _audit_failure(
        self, actor: Actor, action: str, target: str | None, outcome: chain.Outcome, reason: str | None,
        details: dict[str, Any], now: datetime,
    ) -> None:
        try:
            self.audit_alone(actor, action, target, outcome, reason, details, now=now)
        except StorageError:
            _log.error("dvflag: could not audit a failed %s (storage unavailable)", action)
        except Exception as err:
            _log.error("dvflag: could not audit a failed %s (%s)", action, type(err).__name__)

    def audit_alone(
        self, actor: Actor, action: str, target: str | None, outcome: chain.Outcome,
        reason: str | None, details: dict[str, Any], *, now: datetime | None = None,
    ) -> chain.Queued:
        """Commit one event in its own transaction (denials, failed attempts, CLI actions)."""
        self.require_key()
        when = now or self.now()

        def attempt() -> chain.Queued:
            with transaction(self.engine) as conn:
                return chain.enqueue(
                    conn, self._draft(actor, action, target, outcome, reason, details), now=when,
                    authenticate=self.authenticate,
                )

        queued = clean(lambda: with_retries(attempt))
        self.queued(queued)
        return queued

    def take_output_no(self) -> int:
        """The next 出力番号, in its own short transaction (the counter row is locked only there)."""

        def attempt() -> int:
            with transaction(self.engine) as conn:
                return counters.take_output_no(conn)

        return clean(lambda: with_retries(attempt))

    # -- sealing ------------------------------------------------------------------------------

    def queued(self, event: chain.Queued, *, screen: bool = False) -> None:
        """Record one committed queued event of this process; seal when the batch size or the age is reached.

        ``screen``: a screen caution, which never seals itself — it wakes the sealing thread
        (``audit/seal_worker.py``), which also seals if no later call of this process does.
        """
        self.ledger.add(event)
        worker = self._worker
        with self._seal_lock:
            pending = self._pending = self._pending + 1
            self._unsealed = True
            if pending == 1:
                self._pending_since = time.monotonic()
            since = self._pending_since
        if screen and worker is not None:
            # The thread seals on its interval; a flood of cautions wakes it early only for a full
            # sealer batch (measured: waking it every 64 cautions cost a third of their throughput).
            if pending >= self._wake_at:
                worker.wake()
            elif pending == 1:
                worker.start()
            return
        settings = self.settings
        if pending >= settings.audit_seal_batch or time.monotonic() - since >= settings.audit_seal_interval_s:
            self.seal(max_batches=1, opportunistic=True)
        elif pending == 1 and worker is not None:
            worker.start()  # seals within the interval if no other call of this process comes

    def _seal_round(self, woken: bool) -> bool:
        """The thread's round: seal this process's queued events when woken or due; True while any wait.

        Events of this process that another sealer may have sealed meanwhile also keep the thread
        going: each round looks some of them up (``audit/ledger.py``) until none is left.
        """
        with self._seal_lock:
            if self._pending == 0 and not self._ledger_waits():
                return False
            due = woken or time.monotonic() - self._pending_since >= self.settings.audit_seal_interval_s
        if due:  # one batch per round: a long run of batches would hold the GIL against the cautions
            self.seal(max_batches=1, opportunistic=True, background=True)
        with self._seal_lock:
            return self._pending > 0 or self._ledger_waits()

    def _ledger_waits(self) -> bool:
        """Whether ledger entries wait for a round that can look them up (not while the key is missing)."""
        return len(self.ledger) > 0 and not self._keyless

    def seal(
        self, *, max_batches: int | None = None, opportunistic: bool = False, background: bool = False
    ) -> sealer.SealResult | None:
        """Seal queued events now (try-lock: returns at once when another sealer is busy).

        Publishes each event this call sealed (JSON line, host copy). A failure is logged by type
        only and returns None: the calls whose events wait are already committed. ``background``:
        the sealing thread, which keeps its count on a busy sealer or a failure and tries again.
        """
        # An explicit seal (the CLI, verify, checkpoint, close, a conformance run) waits for this
        # process's sealing thread to finish its round, so that every event it sealed is published
        # when the call returns; after calls and on the thread it never waits.
        if not self._sealing.acquire(blocking=not opportunistic, timeout=-1 if opportunistic else 60):
            return None  # this process is already sealing
        with self._seal_lock:
            taken = self._pending
        try:
            result = clean(
                lambda: sealer.seal(
                    self.engine, batch=sealer.DEFAULT_BATCH, max_batches=max_batches,
                    now=self.now, signer=self.signer, read_head=not opportunistic,
                    ledger=self.ledger, checks=ROUND_CHECKS if opportunistic else None,
                )
            )
        except StorageError:
            # A lost connection, or a seal table that disagrees with the head (run `dvflag audit verify`).
            # Said once until sealing works again: the thread retries every interval while it fails.
            if not self._seal_failing:
                self._seal_failing = True
                _log.warning("dvflag: sealing audit events failed (StorageError); they stay queued")
            return None
        finally:
            self._sealing.release()
        if self._seal_failing:
            self._seal_failing = False
            _log.warning("dvflag: sealing audit events works again")
        with self._seal_lock:
            # Inline, busy: another sealer is at work and takes what is pending, ours included;
            # trying again on every call would only add round trips. The next batch or age retries.
            # The thread keeps the count when busy and looks again after the interval.
            if not (background and result.busy):
                self._pending = max(self._pending - taken, 0)
                if self._pending:
                    self._pending_since = time.monotonic()
            if not result.busy and self._pending == 0:
                self._unsealed = False
        self._keyless = result.needs_key
        if result.missing:
            _log.error(
                "dvflag: %d audit events this process queued were deleted or replaced before they were sealed; "
                "recorded in the audit trail (seq %s)", result.missing, ", ".join(map(str, result.alert_seqs)),
            )
        if result.needs_key and not self._needs_key_logged and not self.key_required:  # (a reader knows)
            self._needs_key_logged = True  # once per runtime: every later seal would say the same
            self.key_required = True  # started before the first signed seal: no more untagged events
            _log.warning(
                "dvflag: audit events stay queued: the last seal is signed and dvflag.audit_signing_key "
                "is not configured here; a process with the key seals them, and this one refuses "
                "audited calls from now on"
            )
        self._published(result.events)
        return result

    @staticmethod
    def _draft(
        actor: Actor, action: str, target: str | None, outcome: chain.Outcome, reason: str | None,
        details: dict[str, Any],
    ) -> chain.Draft:
        return chain.Draft(actor.user_id, actor.dept_code, action, target, outcome, reason, details)

    def _published(self, events: tuple[AuditEvent, ...]) -> None:
        """After commit: the JSON lines, then the host's copies. Neither can undo the operation."""
        # Failures are logged by type only: a traceback's text could quote what the host's code held.
        if not events:
            return
        try:
            self.sink.emit_many(events)
        except Exception as err:  # a full disk must not turn a committed change into an error
            _log.error(
                "dvflag: writing the audit lines failed (seq %s-%s): %s", events[0].seq, events[-1].seq,
                type(err).__name__,
            )
        if self.host is not None:
            for event in events:
                try:
                    self.host.audit_event(event)
                except Exception as err:
                    _log.error(
                        "dvflag: the host's dvflag_audit_event failed (seq %s): %s", event.seq, type(err).__name__
                    )

    def close(self) -> None:
        """Seal what this process queued (waiting a little for a busy sealer), then release the audit file.

        The host's engine is left alone. A second call does nothing; a runtime the host never closed
        is closed when the interpreter exits (``_close_at_exit``).
        """
        if self._closed:
            return
        self._closed = True
        _OPEN.discard(self)
        if self._worker is not None:
            self._worker.stop()
        self.caution_line.close()
        deadline = time.monotonic() + CLOSE_SEAL_WAIT_S
        # Also events a busy sealer may have missed after this process stopped counting, and queued
        # events another sealer took: the last round looks up every one still in the ledger.
        while self._unsealed or len(self.ledger):
            result = self.seal()
            if result is None or not result.busy or time.monotonic() > deadline:
                break
            time.sleep(0.02)  # another process is sealing: ours are likely in its batch or the next
        self.sink.close()


_OPEN: weakref.WeakSet[Runtime] = weakref.WeakSet()
"""Runtimes not closed yet (weakly held: a runtime the host dropped is gone with it)."""


def _close_at_exit() -> None:
    """Close what the host left open when the interpreter exits normally.

    Its last seal round then still looks up this process's queued events (``audit/ledger.py``): a
    host that exits without ``Runtime.close()`` does not take the evidence of a deleted queued event
    with it. A failure is logged by type only and never stops the exit; a killed process runs nothing.
    In a forked child only a runtime the child itself used is closed: one it merely inherited would
    seal through pooled connections the parent still holds.
    """
    for rt in list(_OPEN):
        if rt._pid != os.getpid() and not len(rt.ledger):  # the ledger starts empty in a child
            continue
        try:
            rt.close()
        except Exception as err:  # the database may be gone by now
            _log.warning("dvflag: closing the runtime at exit failed (%s)", type(err).__name__)


atexit.register(_close_at_exit)
