"""The contract checks run against a host adapter (DESIGN §4), each named and explained in two languages.

The suite never raises: a host that misbehaves turns into FAIL lines with reasons. It creates one
probe table of its own (``aatena_conformance_probe``) to show that migrations leave host tables alone,
and drops it at the end; everything else it writes goes through the plugin (audited).
"""

from __future__ import annotations

import importlib.metadata
import re
import time
import traceback
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import pluggy
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from dvflag_hookspecs import (
    ENTRY_POINT_GROUP,
    FUNCTION_IDS,
    PROJECT_NAME,
    Actor,
    AuditEvent,
    Department,
    HostContext,
    HostFunction,
    HostHookCaller,
    HostHooks,
    MigrationSource,
    Notice,
    Person,
    PluginServices,
    Registration,
    ReleaseAdvice,
    VerifyResult,
    hookimpl,
)
from dvflag_hookspecs import roles as r
from dvflag_plugin.audit import chain
from dvflag_plugin.errors import DuplicateError, DvflagError, PermissionDenied
from dvflag_plugin.storage.schema import DEPT_NAME_LEN, OWN_TABLES, TABLE_PREFIX, VERSION_TABLE

from .host import HostFactory, HostUnderTest
from .report import CheckResult, Report, Text

PROBE_TABLE = "aatena_conformance_probe"
"""A table standing for the host's own tables; created before the migrations, dropped at the end."""
PROBE_ROWS = ({"id": 1, "label": "宛名テスト"}, {"id": 2, "label": "𠮷田\u3000髙橋"})
PROBE_PREFIX = "dvflag.conformance."
BATCH_SIZE = 10_000
PLUGIN_NAMES = frozenset({"dvflag", "dvflag.runtime"})
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


class CheckFailedError(Exception):
    """A check's verdict: FAIL, with the reason in Japanese and English."""

    def __init__(self, ja: str, en: str) -> None:
        super().__init__(en)
        self.text = Text(ja, en)


def _fail(ja: str, en: str) -> CheckFailedError:
    return CheckFailedError(ja, en)


def _expect(condition: bool, ja: str, en: str) -> None:
    if not condition:
        raise CheckFailedError(ja, en)


T = TypeVar("T")


def _instance(value: object, cls: type[T], ja: str, en: str) -> T:
    """``value`` when it is a ``cls``, else FAIL."""
    if not isinstance(value, cls):
        raise CheckFailedError(ja, en)
    return value


def _type_name(value: object) -> str:
    return f"{value!r} ({type(value).__name__})"


# -------------------------------------------------------------------------------------------------
# Observing the host's PluginManager
# -------------------------------------------------------------------------------------------------


@dataclass
class Delivery:
    """One call of ``dvflag_audit_event``: the event, who implemented it, and what happened."""

    event: object
    impl_names: tuple[str, ...]
    error: str | None
    results: list[object]


class Monitor:
    """Counts hook calls and records every audit-event delivery (pluggy hook-call monitoring)."""

    def __init__(self, pm: Any) -> None:
        self.counts: dict[str, int] = {}
        self.deliveries: list[Delivery] = []
        self._pm = pm

        def before(hook_name: str, hook_impls: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
            self.counts[hook_name] = self.counts.get(hook_name, 0) + 1

        def after(outcome: Any, hook_name: str, hook_impls: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
            if hook_name != "dvflag_audit_event":
                return
            error = outcome.exception
            names = tuple(str(i.plugin_name) for i in hook_impls)
            results: list[object] = []
            if error is None:
                got = outcome.get_result()
                results = [x for x in got if x is not None] if isinstance(got, list) else [got]
            text = None if error is None else f"{type(error).__name__}: {error}"
            self.deliveries.append(Delivery(kwargs.get("event"), names, text, results))

        self._undo = pm.add_hookcall_monitoring(before, after)

    def count(self, hook_name: str) -> int:
        """How many times ``hook_name`` has been called so far."""
        return self.counts.get(hook_name, 0)

    def stop(self) -> None:
        """Remove the monitoring."""
        self._undo()


class _LateStartupProbe:
    """Registered after startup: the historic ``aatena_startup`` must reach it at registration."""

    def __init__(self) -> None:
        self.received: list[object] = []

    @hookimpl
    def aatena_startup(self, host: HostContext) -> None:
        self.received.append(host)


class _DenyProbe:
    """Answers False to one (user, action): the plugin must then deny, whatever the host answered."""

    def __init__(self, user_id: str, action: str) -> None:
        self.user_id = user_id
        self.action = action

    @hookimpl
    def dvflag_authorize(self, actor: Actor, action: str, dept_code: str | None) -> bool | None:
        if actor.user_id == self.user_id and action == self.action:
            return False
        return None


# -------------------------------------------------------------------------------------------------
# State shared by the checks
# -------------------------------------------------------------------------------------------------


@dataclass
class State:
    """What the checks learn and build as they go."""

    host: HostUnderTest
    monitor: Monitor
    caller: HostHookCaller
    probe_created: bool = False
    start_seq: int = 0
    users: dict[str, Actor] = field(default_factory=dict)
    person: Person | None = None
    dept_names: dict[str, str] = field(default_factory=dict)

    @property
    def pm(self) -> Any:
        return self.host.plugin_manager

    @property
    def engine(self) -> sa.Engine:
        engine: sa.Engine = self.host.engine
        return engine

    def service(self) -> Any:
        from dvflag_plugin.plugin import service_of

        return service_of(self.pm)

    def function(self, function_id: str) -> HostFunction:
        found = self.caller.functions().get(function_id)
        if found is None:
            raise _fail(f"ホスト機能 {function_id} がありません", f"host function {function_id} is missing")
        return found

    def seal(self) -> None:
        """Seal queued events now (each call's event is queued, then sealed and copied to the host)."""
        from dvflag_plugin.plugin import RUNTIME_NAME

        if self.pm.get_plugin(RUNTIME_NAME) is not None:  # before startup nothing can be queued
            self.service().runtime.seal()

    def head_seq(self) -> int:
        self.seal()
        with self.engine.connect() as conn:
            return chain.read_head(conn).last_seq

    def events_after(self, seq: int) -> list[AuditEvent]:
        self.seal()
        with self.engine.connect() as conn:
            return list(chain.iter_events(conn, from_seq=seq + 1))

    def host_impl_names(self, hook_name: str) -> list[str]:
        """Plugins implementing ``hook_name`` other than this plugin and the suite's probes."""
        caller = getattr(self.pm.hook, hook_name, None)
        if caller is None:
            return []
        return [
            str(i.plugin_name)
            for i in caller.get_hookimpls()
            if i.plugin_name not in PLUGIN_NAMES and not str(i.plugin_name).startswith(PROBE_PREFIX)
        ]

    def one_event(self, before: int, deliveries_before: int, action: str) -> AuditEvent:
        """Exactly one audit event since ``before``, of ``action``, delivered once to the host."""
        events = self.events_after(before)
        _expect(
            len(events) == 1,
            f"1 回の呼び出しで監査イベントが 1 件のはずが {len(events)} 件でした",
            f"one call must write exactly one audit event, found {len(events)}",
        )
        event = events[0]
        _expect(
            event.action == action,
            f"監査イベントの操作が {action} ではなく {event.action} です",
            f"the audit event's action is {event.action}, expected {action}",
        )
        delivered = len(self.monitor.deliveries) - deliveries_before
        _expect(
            delivered == 1,
            f"dvflag_audit_event の呼び出しが 1 回のはずが {delivered} 回でした",
            f"dvflag_audit_event must be called once for the call, was called {delivered} times",
        )
        return event


# -------------------------------------------------------------------------------------------------
# The checks
# -------------------------------------------------------------------------------------------------

CheckFn = Callable[[State], Text | None]


@dataclass(frozen=True)
class Check:
    """One named check: id, titles, prerequisites and the function that runs it."""

    check_id: str
    title: Text
    run: CheckFn
    requires: tuple[str, ...] = ()


def _project_name(s: State) -> Text | None:
    pm = s.pm
    _expect(
        isinstance(pm, pluggy.PluginManager),
        f"plugin_manager が pluggy.PluginManager ではありません: {type(pm).__name__}",
        f"plugin_manager is not a pluggy.PluginManager: {type(pm).__name__}",
    )
    _expect(
        pm.project_name == PROJECT_NAME,
        f"プロジェクト名が '{PROJECT_NAME}' ではなく {pm.project_name!r} です",
        f"the project name is {pm.project_name!r}, expected '{PROJECT_NAME}'",
    )
    return None


def _reference_specs() -> dict[str, tuple[tuple[str, ...], dict[str, Any]]]:
    ref = pluggy.PluginManager(PROJECT_NAME)
    ref.add_hookspecs(HostHooks)
    ref.add_hookspecs(PluginServices)
    found = {}
    for name, caller in vars(ref.hook).items():
        if name.startswith("_") or caller.spec is None:
            continue
        opts = {k: caller.spec.opts.get(k) for k in ("firstresult", "historic")}
        found[name] = (tuple(caller.spec.argnames), opts)
    return found


def _specs(s: State) -> Text | None:
    problems_ja, problems_en = [], []
    for name, (argnames, opts) in sorted(_reference_specs().items()):
        caller = getattr(s.pm.hook, name, None)
        if caller is None or caller.spec is None:
            problems_ja.append(f"{name}: 仕様が登録されていません")
            problems_en.append(f"{name}: no specification registered")
            continue
        got_args = tuple(caller.spec.argnames)
        got_opts = {k: caller.spec.opts.get(k) for k in opts}
        if got_args != argnames or got_opts != opts:
            problems_ja.append(f"{name}: 引数 {got_args} / {got_opts}（期待値 {argnames} / {opts}）")
            problems_en.append(f"{name}: arguments {got_args} / {got_opts}, expected {argnames} / {opts}")
    if problems_en:
        hint_ja = "ホストは HostHooks と PluginServices を add_hookspecs してから実装を登録してください"
        hint_en = "the host must add_hookspecs(HostHooks) and add_hookspecs(PluginServices) before registering"
        raise _fail("\n".join([*problems_ja, hint_ja]), "\n".join([*problems_en, hint_en]))
    return None


def _check_pending(s: State) -> Text | None:
    try:
        s.pm.check_pending()
    except pluggy.PluginValidationError as err:
        raise _fail(
            f"check_pending() が失敗しました（仕様のないフック実装）: {err}",
            f"check_pending() failed (a hook implementation without a specification): {err}",
        ) from err
    return None


def _entry_point(s: State) -> Text | None:
    eps = list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP, name="dvflag"))
    _expect(
        len(eps) == 1,
        f"エントリポイント {ENTRY_POINT_GROUP}:dvflag が {len(eps)} 件です（1 件のはず。インストールを確認）",
        f"expected one entry point dvflag in {ENTRY_POINT_GROUP}, found {len(eps)} (check the installation)",
    )
    ep = eps[0]
    try:
        loaded = ep.load()
    except Exception as err:
        raise _fail(f"エントリポイントを読み込めません: {err!r}", f"the entry point does not load: {err!r}") from err
    _expect(
        bool(s.pm.is_registered(loaded)),
        f"エントリポイント {ep.value} のプラグインがホストの PluginManager に登録されていません",
        f"the entry point's plugin {ep.value} is not registered in the host's PluginManager",
    )
    name = s.pm.get_name(loaded)
    dist = getattr(ep, "dist", None)
    version = f"{dist.name} {dist.version}" if dist is not None else "?"
    return Text(f"登録名 {name!r}、{version}", f"registered as {name!r}, {version}")


def _snapshot(engine: sa.Engine) -> dict[str, Any]:
    insp = sa.inspect(engine)
    tables = set(insp.get_table_names())
    snap: dict[str, Any] = {"tables": tables, "columns": {}}
    for t in sorted(tables):
        if not t.startswith(TABLE_PREFIX):
            snap["columns"][t] = [(c["name"], str(c["type"])) for c in insp.get_columns(t)]
    with engine.connect() as conn:
        probe = sa.table(PROBE_TABLE, sa.column("id"), sa.column("label"))
        snap["probe_rows"] = [tuple(x) for x in conn.execute(sa.select(probe.c.id, probe.c.label).order_by(probe.c.id))]
        if "alembic_version" in tables:
            av = sa.table("alembic_version", sa.column("version_num"))
            snap["alembic_version"] = sorted(conn.execute(sa.select(av.c.version_num)).scalars())
    return snap


def _create_probe(s: State) -> None:
    meta = sa.MetaData()
    probe = sa.Table(
        PROBE_TABLE,
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("label", sa.Unicode(40), nullable=False),
    )
    meta.drop_all(s.engine, checkfirst=True)
    meta.create_all(s.engine)
    s.probe_created = True
    with s.engine.begin() as conn:
        conn.execute(sa.insert(probe), list(PROBE_ROWS))


def drop_probe(engine: sa.Engine) -> None:
    """Remove the probe table (end of the run)."""
    meta = sa.MetaData()
    sa.Table(PROBE_TABLE, meta, sa.Column("id", sa.Integer, primary_key=True))
    meta.drop_all(engine, checkfirst=True)


def reference_migrations(pm: Any, engine: sa.Engine) -> list[str]:
    """What a host does with ``aatena_migrations()``: each plugin's scripts, its own version table."""
    done = []
    for source in HostHookCaller(pm).migrations():
        cfg = Config()
        cfg.set_main_option("script_location", source.script_location)
        cfg.set_main_option("version_table", source.version_table)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
        done.append(source.plugin)
    return done


def _migrations(s: State) -> Text | None:
    _create_probe(s)
    before = _snapshot(s.engine)
    calls = s.monitor.count("aatena_migrations")
    if s.host.run_migrations is not None:
        s.host.run_migrations()
    else:
        reference_migrations(s.pm, s.engine)
    _expect(
        s.monitor.count("aatena_migrations") > calls,
        "ホストのマイグレーション処理が aatena_migrations() を呼び出していません",
        "the host's migration runner did not call aatena_migrations()",
    )
    sources = [x for x in HostHookCaller(s.pm).migrations() if isinstance(x, MigrationSource) and x.plugin == "dvflag"]
    _expect(
        len(sources) == 1,
        "aatena_migrations() に dvflag の結果がありません",
        "aatena_migrations() has no result of plugin dvflag",
    )
    source = sources[0]
    _expect(
        source.version_table == VERSION_TABLE,
        f"版管理テーブルが {VERSION_TABLE} ではなく {source.version_table} です",
        f"the version table is {source.version_table}, expected {VERSION_TABLE}",
    )
    after = _snapshot(s.engine)
    new = sorted(after["tables"] - before["tables"])
    foreign = [t for t in new if not t.startswith(TABLE_PREFIX)]
    _expect(
        not foreign,
        f"dvf_ 以外のテーブルが作られました: {foreign}",
        f"tables outside dvf_ were created: {foreign}",
    )
    gone = sorted(before["tables"] - after["tables"])
    _expect(not gone, f"ホストのテーブルが消えました: {gone}", f"host tables disappeared: {gone}")
    changed = sorted(t for t, cols in before["columns"].items() if after["columns"].get(t) != cols)
    _expect(
        not changed,
        f"ホストのテーブル定義が変わりました: {changed}",
        f"host table definitions changed: {changed}",
    )
    _expect(
        after["probe_rows"] == before["probe_rows"] and len(before["probe_rows"]) == len(PROBE_ROWS),
        f"試験用ホストテーブル {PROBE_TABLE} の内容が変わりました",
        f"the probe host table {PROBE_TABLE} changed",
    )
    _expect(
        after.get("alembic_version") == before.get("alembic_version"),
        "ホストの alembic_version テーブルが変更されました",
        "the host's alembic_version table was touched",
    )
    missing = sorted(OWN_TABLES - after["tables"])
    _expect(not missing, f"プラグインのテーブルがありません: {missing}", f"plugin tables are missing: {missing}")
    head = ScriptDirectory.from_config(_script_config(source)).get_current_head()
    with s.engine.connect() as conn:
        current = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
    _expect(
        current == head,
        f"{VERSION_TABLE} の版が {current} で、最新版 {head} ではありません",
        f"{VERSION_TABLE} is at {current}, not at the head {head}",
    )
    s.start_seq = s.head_seq()
    return Text(
        f"新規テーブル {len(new)} 件（すべて dvf_）、{VERSION_TABLE} = {current}、ホストのテーブルは不変",
        f"{len(new)} new tables (all dvf_), {VERSION_TABLE} = {current}, host tables unchanged",
    )


def _script_config(source: MigrationSource) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", source.script_location)
    return cfg


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _startup(s: State) -> Text | None:
    hc = getattr(s.pm.hook, "aatena_startup", None)
    _expect(
        hc is not None and hc.is_historic(),
        "aatena_startup が historic ではありません",
        "aatena_startup is not historic",
    )
    calls = s.monitor.count("aatena_startup")
    if s.host.start is not None:
        s.host.start()
    else:
        s.caller.startup(HostContext(s.pm, s.engine, s.host.clock or _utc_now, dict(s.host.settings)))
    _expect(
        s.monitor.count("aatena_startup") > calls,
        "ホストの起動処理が aatena_startup を呼び出していません",
        "the host's startup did not call aatena_startup",
    )
    try:
        service = s.service()
    except LookupError as err:
        raise _fail(
            "起動後も dvflag の実行環境が登録されていません",
            "dvflag's runtime is not registered after startup",
        ) from err
    engine = service.runtime.engine
    _expect(
        engine is s.engine or str(engine.url) == str(s.engine.url),
        "aatena_startup に渡された engine が HostUnderTest.engine と異なります",
        "the engine handed over at aatena_startup is not HostUnderTest.engine",
    )
    now = service.runtime.clock()
    _expect(
        isinstance(now, datetime) and now.tzinfo is not None,
        f"ホストの clock が aware な datetime を返しません: {now!r}",
        f"the host clock does not return an aware datetime: {now!r}",
    )
    probe = _LateStartupProbe()
    s.pm.register(probe, name=PROBE_PREFIX + "late")
    try:
        _expect(
            len(probe.received) == 1,
            "起動後に登録したプラグインに aatena_startup が届きません（historic でない）",
            "a plugin registered after startup did not receive aatena_startup (not historic)",
        )
        ctx = probe.received[0]
        _expect(
            isinstance(ctx, HostContext) and ctx.plugin_manager is s.pm,
            "aatena_startup の引数が HostContext（このホストの PluginManager）ではありません",
            "aatena_startup's argument is not a HostContext of this host's PluginManager",
        )
    finally:
        s.pm.unregister(probe)
    return None


def _check_person(person: object) -> Person:
    person = _instance(
        person,
        Person,
        f"Person または None を返すべきところ {_type_name(person)} を返しました",
        f"must return Person or None, returned {_type_name(person)}",
    )
    name = person.name
    _expect(
        isinstance(name, str) and name.strip() != "",
        f"氏名が空または文字列ではありません: {_type_name(name)}",
        f"name is empty or not a string: {_type_name(name)}",
    )
    _expect(
        unicodedata.is_normalized("NFC", name),
        "氏名が NFC に正規化されていません",
        "name is not in Unicode NFC",
    )
    _expect(
        len(name) <= 100,
        f"氏名が 100 文字を超えます（{len(name)} 文字）",
        f"name exceeds 100 characters ({len(name)})",
    )
    sex = person.sex_code
    _expect(
        type(sex) is int and sex in (0, 1, 2, 9),
        f"性別コードが 0/1/2/9 ではありません: {_type_name(sex)}",
        f"sex code is not one of 0, 1, 2, 9 (JIS X 5218): {_type_name(sex)}",
    )
    birth = person.birth_date
    _expect(
        type(birth) is date,
        f"生年月日が date ではありません: {_type_name(birth)}",
        f"birth_date is not a date: {_type_name(birth)}",
    )
    return person


def _resolve_person(s: State) -> Text | None:
    hook = s.pm.hook.dvflag_resolve_person
    s.person = _check_person(hook(address_no=s.host.known_address_no))
    unknown = hook(address_no=s.host.unknown_address_no)
    _expect(
        unknown is None,
        f"宛名マスタにない番号には None を返すべきところ {_type_name(unknown)} を返しました",
        f"an unknown number must give None, got {_type_name(unknown)}",
    )
    return Text(
        f"既知の番号 → Person（性別コード {s.person.sex_code}）、未知の番号 → None",
        f"known number → Person (sex code {s.person.sex_code}), unknown number → None",
    )


def _resolve_department(s: State) -> Text | None:
    hook = s.pm.hook.dvflag_resolve_department
    for code in s.host.dept_codes:
        dept = hook(dept_code=code)
        dept = _instance(
            dept,
            Department,
            f"{code}: Department または None を返すべきところ {_type_name(dept)} を返しました",
            f"{code}: must return Department or None, returned {_type_name(dept)}",
        )
        _expect(
            dept.dept_code == code,
            f"{code}: 違う所属コード {dept.dept_code!r} が返りました",
            f"{code}: answered for another code {dept.dept_code!r}",
        )
        name = dept.dept_name
        _expect(
            isinstance(name, str)
            and name.strip() != ""
            and len(name) <= DEPT_NAME_LEN
            and unicodedata.is_normalized("NFC", name),
            f"{code}: 所属名が空、{DEPT_NAME_LEN} 文字超、または NFC でありません: {_type_name(name)}",
            f"{code}: department name empty, over {DEPT_NAME_LEN} characters or not NFC: {_type_name(name)}",
        )
        s.dept_names[code] = name
    if s.host.unknown_dept_code is None:
        return Text(
            "unknown_dept_code 未指定のため未知コードの None は未確認",
            "unknown_dept_code not given: None for an unknown code not checked",
        )
    unknown = hook(dept_code=s.host.unknown_dept_code)
    _expect(
        unknown is None,
        f"未知の所属コードには None を返すべきところ {_type_name(unknown)} を返しました",
        f"an unknown department code must give None, got {_type_name(unknown)}",
    )
    return None


USERS = (
    ("registrar_a", r.REGISTRAR, 0),
    ("registrar_b", r.REGISTRAR, 1),
    ("viewer_a", r.VIEWER, 0),
    ("auditor", r.AUDITOR, 0),
)


def _default_bootstrap(s: State, actor: Actor, roles: frozenset[str]) -> None:
    from dvflag_plugin.service import bootstrap

    rt = s.service().runtime
    operator = bootstrap.operator_actor()
    try:
        bootstrap.add_user(rt, operator, user_id=actor.user_id, dept_code=actor.dept_code, roles=roles)
    except DuplicateError:  # a re-run on the same database: make the existing user fit
        bootstrap.modify_user(
            rt,
            operator,
            user_id=actor.user_id,
            changes={"dept_code": actor.dept_code, "enabled": 1},
            roles=roles,
        )


def _users(s: State) -> Text | None:
    for key, role, index in USERS:
        dept = s.host.dept_codes[index]
        actor = s.host.actor(role, dept)
        _expect(
            isinstance(actor, Actor),
            f"actor({role!r}, {dept!r}) が Actor ではありません: {_type_name(actor)}",
            f"actor({role!r}, {dept!r}) did not return an Actor: {_type_name(actor)}",
        )
        _expect(
            actor.dept_code == dept and isinstance(actor.user_id, str) and 0 < len(actor.user_id) <= 64,
            f"actor({role!r}, {dept!r}) の所属または利用者IDが不正です: {actor!r}",
            f"actor({role!r}, {dept!r}) has a wrong department or user id: {actor!r}",
        )
        s.users[key] = actor
    ids = [a.user_id for a in s.users.values()]
    _expect(
        len(set(ids)) == len(ids),
        f"役割・所属の違う利用者に同じ利用者IDが返りました: {ids}",
        f"different role/department users share a user id: {ids}",
    )
    for key, role, _ in USERS:
        actor = s.users[key]
        if s.host.bootstrap_user is not None:
            s.host.bootstrap_user(actor, frozenset({role}))
        else:
            _default_bootstrap(s, actor, frozenset({role}))
    return Text.same(", ".join(f"{k}={a.user_id}@{a.dept_code}" for k, a in s.users.items()))


def _authorize(s: State) -> Text | None:
    u = s.users
    a, b = s.host.dept_codes
    asks = (
        (u["registrar_a"], "register", a),
        (u["registrar_b"], "register", b),
        (u["viewer_a"], "status", None),
        (u["viewer_a"], "advice_details", None),
        (u["auditor"], "audit_verify", None),
        (u["registrar_a"], "export_own", a),
    )
    for actor, action, dept in asks:
        results = s.pm.hook.dvflag_authorize(actor=actor, action=action, dept_code=dept)
        _expect(
            isinstance(results, list),
            f"dvflag_authorize が firstresult になっています: {_type_name(results)}",
            f"dvflag_authorize must collect all results, got {_type_name(results)}",
        )
        bad = [_type_name(x) for x in results if type(x) is not bool]
        _expect(
            not bad,
            f"dvflag_authorize は bool か None を返すべきところ {', '.join(bad)} を返しました（{action}）",
            f"dvflag_authorize must return bool or None, returned {', '.join(bad)} ({action})",
        )
        _expect(
            False not in results,
            f"ホストが試験用利用者 {actor.user_id} の通常の操作 {action} を拒否しました"
            "（試験用利用者には許可してください）",
            f"the host denies test user {actor.user_id} the ordinary action {action} (allow the test users)",
        )
    viewer = u["viewer_a"]
    status = s.service().status
    status(viewer, {"address_no": s.host.known_address_no})
    probe = _DenyProbe(viewer.user_id, "status")
    s.pm.register(probe, name=PROBE_PREFIX + "deny")
    try:
        try:
            status(viewer, {"address_no": s.host.known_address_no})
        except PermissionDenied as err:
            _expect(
                err.code == "host.denied",
                f"拒否理由が host.denied ではなく {err.code} です",
                f"the denial reason is {err.code}, expected host.denied",
            )
        else:
            raise _fail(
                "dvflag_authorize の False があっても操作が許可されました（False は必ず制限すること）",
                "an operation was allowed although dvflag_authorize answered False (False must narrow)",
            )
    finally:
        s.pm.unregister(probe)
    status(viewer, {"address_no": s.host.known_address_no})
    impls = s.host_impl_names("dvflag_authorize")
    if not impls:
        return Text(
            "ホストの dvflag_authorize 実装なし（常に棄権）",
            "the host has no dvflag_authorize (always abstains)",
        )
    return Text(f"ホスト実装: {impls}、False による制限を確認", f"host implementations: {impls}; a False narrows")


def _has_japanese(text: object) -> bool:
    return isinstance(text, str) and bool(_JAPANESE.search(text))


def _functions(s: State) -> Text | None:
    raw = s.pm.hook.aatena_functions()
    ids: list[str] = []
    for group in raw:
        for fn in group:
            _expect(
                isinstance(fn, HostFunction),
                f"aatena_functions の要素が HostFunction ではありません: {_type_name(fn)}",
                f"an aatena_functions item is not a HostFunction: {_type_name(fn)}",
            )
            ids.append(fn.function_id)
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    _expect(not dupes, f"機能IDが重複しています: {dupes}", f"duplicate function ids: {dupes}")
    found = s.caller.functions()
    missing = [i for i in FUNCTION_IDS if i not in found]
    _expect(not missing, f"機能がありません: {missing}", f"functions missing: {missing}")
    extra = sorted(i for i in found if i.startswith("dvflag.") and i not in FUNCTION_IDS)
    _expect(not extra, f"未定義の dvflag 機能があります: {extra}", f"unexpected dvflag functions: {extra}")
    for fid in FUNCTION_IDS:
        fn = found[fid]
        _expect(
            _has_japanese(fn.label),
            f"{fid}: 日本語の表示名がありません: {fn.label!r}",
            f"{fid}: no Japanese label: {fn.label!r}",
        )
        _expect(
            bool(fn.required_roles) and set(fn.required_roles) <= set(r.ALL_ROLES),
            f"{fid}: 必要ロールが不正です: {fn.required_roles}",
            f"{fid}: bad required roles: {fn.required_roles}",
        )
        _expect(
            callable(fn.call) and all(isinstance(p, str) for p in fn.params),
            f"{fid}: 呼び出し可能でないか引数名が不正です",
            f"{fid}: not callable or bad parameter names",
        )
    return Text.same(", ".join(f"{i}={found[i].label}" for i in FUNCTION_IDS))


def _register(s: State) -> Text | None:
    registrar = s.users["registrar_a"]
    dept = s.host.dept_codes[0]
    try:
        reg = s.function(r.F_REGISTER).call(registrar, {"address_no": s.host.known_address_no})
    except DuplicateError:
        return Text("既に登録済み（同じデータベースでの再実行）", "already registered (a re-run on the same database)")
    reg = _instance(
        reg,
        Registration,
        f"登録結果が Registration ではありません: {_type_name(reg)}",
        f"the registration result is not a Registration: {_type_name(reg)}",
    )
    person = s.person
    _expect(
        person is not None
        and (reg.name, reg.sex_code, reg.birth_date) == (person.name, person.sex_code, person.birth_date),
        "登録内容が宛名マスタ（dvflag_resolve_person）の内容と一致しません",
        "the registration does not carry the address master's items (dvflag_resolve_person)",
    )
    _expect(
        reg.dept_code == dept and reg.dept_name == s.dept_names.get(dept),
        "登録の所属名が組織マスタ（dvflag_resolve_department）の内容と一致しません",
        "the registration's department name is not the organisation master's (dvflag_resolve_department)",
    )
    return Text(f"レコードID {reg.record_id}（{reg.dept_name}）", f"record {reg.record_id} ({reg.dept_code})")


def _check_notices(result: object, address_nos: Sequence[str]) -> dict[str, list[Notice]]:
    result = _instance(
        result,
        dict,
        f"結果が dict ではありません: {_type_name(result)}",
        f"the result is not a dict: {_type_name(result)}",
    )
    given = set(address_nos)
    for key, notices in result.items():
        _expect(
            key in given,
            f"渡していない番号 {key!r} に注意表示があります",
            f"a notice for a number not asked: {key!r}",
        )
        _expect(
            isinstance(notices, list) and bool(notices) and all(isinstance(n, Notice) for n in notices),
            f"{key}: 注意表示が Notice のリストではありません",
            f"{key}: notices are not a list of Notice",
        )
    return result


def _notices_single(s: State) -> Text | None:
    viewer = s.users["viewer_a"]
    known = s.host.known_address_no
    before, delivered, calls = (
        s.head_seq(),
        len(s.monitor.deliveries),
        s.monitor.count("aatena_person_notices"),
    )
    result = _check_notices(s.caller.person_notices(viewer, [known]), [known])
    _expect(
        s.monitor.count("aatena_person_notices") == calls + 1,
        "aatena_person_notices が 1 回で呼ばれていません",
        "aatena_person_notices was not called exactly once",
    )
    _expect(list(result) == [known], "登録済みの番号に注意表示がありません", "no notice for the registered number")
    notice = result[known][0]
    _expect(
        notice.level == "caution" and notice.address_no == known and _has_japanese(notice.message),
        f"注意表示の内容が不正です: {notice!r}",
        f"the notice is malformed: {notice!r}",
    )
    leaked = [name for name in s.dept_names.values() if name in notice.message]
    _expect(not leaked, "注意表示に保持所属名が含まれています", "the notice names a holding department")
    s.one_event(before, delivered, "notices")
    before, delivered = s.head_seq(), len(s.monitor.deliveries)
    unknown = s.caller.person_notices(viewer, [s.host.unknown_address_no])
    _expect(
        unknown == {},
        f"未登録の番号に注意表示があります: {unknown!r}",
        f"a notice for an unregistered number: {unknown!r}",
    )
    s.one_event(before, delivered, "notices")
    return None


def batch_numbers(known: str, unknown: str, size: int = BATCH_SIZE) -> list[str]:
    """``size`` numbers shaped like ``known``, including ``known`` and ``unknown``."""
    width = max(len(known), 5)
    top = 10**width - 1
    numbers: list[str] = []
    i = 0
    while len(numbers) < size - 2:
        candidate = str(top - i).zfill(width)
        i += 1
        if candidate not in (known, unknown):
            numbers.append(candidate)
    numbers.insert(size // 2, known)
    numbers.insert(size - 10, unknown)
    return numbers


def _notices_batch(s: State) -> Text | None:
    viewer = s.users["viewer_a"]
    known, unknown = s.host.known_address_no, s.host.unknown_address_no
    numbers = batch_numbers(known, unknown)
    before, delivered, calls = (
        s.head_seq(),
        len(s.monitor.deliveries),
        s.monitor.count("aatena_person_notices"),
    )
    t0 = time.perf_counter()
    result = _check_notices(s.caller.person_notices(viewer, numbers), numbers)
    elapsed = time.perf_counter() - t0
    _expect(
        s.monitor.count("aatena_person_notices") == calls + 1,
        "一括照会が 1 回の aatena_person_notices になっていません",
        "the batch was not one aatena_person_notices call",
    )
    _expect(
        known in result,
        "一括照会で登録済みの番号に注意表示がありません",
        "the batch gave no notice for the registered number",
    )
    _expect(
        unknown not in result,
        "一括照会で未登録の番号に注意表示があります",
        "the batch flagged an unregistered number",
    )
    event = s.one_event(before, delivered, "notices")
    _expect(
        event.details.get("count") == len(numbers),
        f"監査イベントの件数が {event.details.get('count')} で {len(numbers)} ではありません",
        f"the audit event counts {event.details.get('count')} numbers, expected {len(numbers)}",
    )
    return Text(
        f"{len(numbers):,} 件を 1 回で照会、{elapsed:.2f} 秒、注意表示 {len(result)} 件",
        f"{len(numbers):,} numbers in one call, {elapsed:.2f} s, {len(result)} flagged",
    )


def _find_advice(results: object, address_no: str) -> ReleaseAdvice:
    results = _instance(
        results,
        list,
        f"結果がリストではありません: {_type_name(results)}",
        f"the results are not a list: {_type_name(results)}",
    )
    mine = [x for x in results if isinstance(x, ReleaseAdvice) and x.address_no == address_no]
    _expect(
        len(mine) == 1,
        f"dvflag の ReleaseAdvice が 1 件のはずが {len(mine)} 件です",
        f"expected one ReleaseAdvice of dvflag, found {len(mine)}",
    )
    advice = mine[0]
    _expect(
        advice.safe == (advice.other_count == 0) and _has_japanese(advice.message),
        f"助言の内容が矛盾しています: {advice!r}",
        f"the advice is inconsistent: {advice!r}",
    )
    return advice


def _advice(s: State) -> Text | None:
    known = s.host.known_address_no
    a = s.host.dept_codes[0]
    before, delivered = s.head_seq(), len(s.monitor.deliveries)
    other = _find_advice(s.caller.before_disclosure_flags_cleared(s.users["registrar_b"], known), known)
    s.one_event(before, delivered, "advice")
    _expect(
        not other.safe and other.other_count >= 1,
        "他所属が保持しているのに解除可能（safe）と助言されました",
        "advice says safe although another department holds the person",
    )
    _expect(
        a in {h.dept_code for h in other.other_holders},
        "保持所属の一覧に登録した所属がありません",
        "the holders listed lack the registering department",
    )
    own = _find_advice(s.caller.before_disclosure_flags_cleared(s.users["registrar_a"], known), known)
    return Text(
        f"他所属から: safe=False（{other.other_count} 所属）、登録所属から: safe={own.safe}",
        f"from another department: safe=False ({other.other_count}); from the holder: safe={own.safe}",
    )


def _audit_event(s: State) -> Text | None:
    impls = s.host_impl_names("dvflag_audit_event")
    _expect(
        bool(impls),
        "ホストの dvflag_audit_event 実装が登録されていません",
        "the host has not registered a dvflag_audit_event implementation",
    )
    committed = s.events_after(s.start_seq)
    _expect(bool(committed), "監査イベントがありません", "no audit events were written")
    by_hash: dict[str, int] = {}
    for d in s.monitor.deliveries:
        _expect(
            d.error is None,
            f"ホストの dvflag_audit_event が例外を送出しました: {d.error}",
            f"the host's dvflag_audit_event raised: {d.error}",
        )
        _expect(
            not d.results,
            f"dvflag_audit_event は None を返すべきところ {d.results!r} を返しました",
            f"dvflag_audit_event must return None, returned {d.results!r}",
        )
        event = _instance(
            d.event,
            AuditEvent,
            f"AuditEvent 以外が渡されました: {_type_name(d.event)}",
            f"something other than an AuditEvent was delivered: {_type_name(d.event)}",
        )
        _expect(
            any(n in d.impl_names for n in impls),
            "監査イベントがホストの実装に届いていません",
            "an audit event did not reach the host's implementation",
        )
        by_hash[event.hash] = by_hash.get(event.hash, 0) + 1
    wrong = [e.seq for e in committed if by_hash.get(e.hash) != 1]
    _expect(
        not wrong,
        f"ホストに 1 回ずつ届いていない監査イベント（seq）: {wrong[:20]}",
        f"audit events not delivered to the host exactly once (seq): {wrong[:20]}",
    )
    if s.host.audit_hashes is not None:
        stored = set(s.host.audit_hashes())
        lost = [e.seq for e in committed if e.hash not in stored]
        _expect(
            not lost,
            f"ホストの監査記録に保存されていないイベント（seq）: {lost[:20]}",
            f"events missing from the host's audit store (seq): {lost[:20]}",
        )
    return Text(
        f"{len(committed)} 件すべてが 1 回ずつ {impls} に届きました",
        f"all {len(committed)} events reached {impls} once each",
    )


def _audit_chain(s: State) -> Text | None:
    result = s.function(r.F_AUDIT).call(s.users["auditor"], {"op": "verify"})
    result = _instance(
        result,
        VerifyResult,
        f"検証結果が VerifyResult ではありません: {_type_name(result)}",
        f"the verification result is not a VerifyResult: {_type_name(result)}",
    )
    _expect(
        result.ok,
        f"監査証跡の連鎖が検証できません: {result.message}",
        f"the audit chain does not verify: {result.message}",
    )
    return Text(
        f"{result.checked} 件検証、先頭 seq {result.head_seq}、ハッシュ {result.head_hash[:16]}…",
        f"{result.checked} events verified, head seq {result.head_seq}, hash {result.head_hash[:16]}…",
    )


CHECKS: tuple[Check, ...] = (
    Check(
        "project_name",
        Text("PluginManager のプロジェクト名が 'aatena'", "the PluginManager's project name is 'aatena'"),
        _project_name,
    ),
    Check(
        "specs",
        Text(
            "HostHooks・PluginServices の仕様が正しく登録済み",
            "HostHooks and PluginServices specifications are present and correct",
        ),
        _specs,
    ),
    Check(
        "check_pending",
        Text(
            "check_pending() が成功する（仕様のない実装がない）",
            "check_pending() passes (no implementation without a specification)",
        ),
        _check_pending,
    ),
    Check(
        "entry_point",
        Text(
            "エントリポイント aatena.plugins:dvflag から読み込まれている",
            "the plugin is loaded from the entry point aatena.plugins:dvflag",
        ),
        _entry_point,
    ),
    Check(
        "migrations",
        Text(
            "aatena_migrations() で移行でき、dvf_alembic_version を使い、ホストのテーブルに触れない",
            "migrations via aatena_migrations() use dvf_alembic_version and leave host tables alone",
        ),
        _migrations,
    ),
    Check(
        "startup",
        Text(
            "aatena_startup が historic で、ホストの engine・clock が渡る",
            "aatena_startup is historic and hands over the host's engine and clock",
        ),
        _startup,
        ("migrations",),
    ),
    Check(
        "services.resolve_person",
        Text(
            "dvflag_resolve_person が Person（NFC 氏名、性別 0/1/2/9）か None を返す",
            "dvflag_resolve_person returns Person (NFC name, sex 0/1/2/9) or None",
        ),
        _resolve_person,
        ("startup",),
    ),
    Check(
        "services.resolve_department",
        Text(
            "dvflag_resolve_department が Department か None を返す",
            "dvflag_resolve_department returns Department or None",
        ),
        _resolve_department,
        ("startup",),
    ),
    Check(
        "users",
        Text(
            "試験用利用者の Actor を得て、プラグインの利用者として登録できる",
            "test users' Actors are given and registered as plugin users",
        ),
        _users,
        ("startup",),
    ),
    Check(
        "services.authorize",
        Text(
            "dvflag_authorize が bool か None を返し、False が権限を狭める",
            "dvflag_authorize returns bool or None, and a False narrows access",
        ),
        _authorize,
        ("users",),
    ),
    Check(
        "functions",
        Text(
            "aatena_functions() が 11 機能すべてを日本語名付きで返す",
            "aatena_functions() lists all 11 functions with Japanese labels",
        ),
        _functions,
        ("startup",),
    ),
    Check(
        "register",
        Text(
            "登録時に宛名・所属がホストのマスタから解決される",
            "registration takes the person and department from the host's masters",
        ),
        _register,
        ("users", "functions", "services.resolve_person", "services.resolve_department"),
    ),
    Check(
        "notices.single",
        Text(
            "画面用の注意表示: 1 件の照会は 1 回の呼び出し・1 件の監査イベント",
            "screen notices: one number, one call, one audit event",
        ),
        _notices_single,
        ("register",),
    ),
    Check(
        "notices.batch",
        Text(
            f"一括照会: {BATCH_SIZE:,} 件を 1 回の呼び出し・1 件の監査イベントで",
            f"batch notices: {BATCH_SIZE:,} numbers in one call with one audit event",
        ),
        _notices_batch,
        ("register",),
    ),
    Check(
        "advice",
        Text(
            "フラグ解除前の助言: 他所属の保持を知らせる",
            "advice before clearing the flags names the other holders",
        ),
        _advice,
        ("register",),
    ),
    Check(
        "services.audit_event",
        Text(
            "dvflag_audit_event がすべての監査イベントの写しを受け取る",
            "dvflag_audit_event receives a copy of every audit event",
        ),
        _audit_event,
        ("startup",),
    ),
    Check(
        "audit_chain",
        Text("最後に監査証跡の連鎖が検証できる", "the audit chain verifies at the end"),
        _audit_chain,
        ("users", "functions"),
    ),
)
"""Every check, in the order run."""

CHECK_IDS: tuple[str, ...] = ("factory", *(c.check_id for c in CHECKS))


def _reason_of(err: BaseException) -> Text:
    if isinstance(err, CheckFailedError):
        return err.text
    if isinstance(err, DvflagError):
        return Text(f"プラグインのエラー: {err}", f"plugin error: {err}")
    where = traceback.extract_tb(err.__traceback__)[-1:] if err.__traceback__ else []
    at = f" (at {where[0].filename.rsplit('/', 1)[-1]}:{where[0].lineno})" if where else ""
    return Text(
        f"想定外の例外: {type(err).__name__}: {err}{at}",
        f"unexpected exception: {type(err).__name__}: {err}{at}",
    )


def run(factory: HostFactory, *, name: str | None = None) -> Report:
    """Build the host with ``factory``, run every check, clean up, and return the report."""
    report = Report(host=name or str(getattr(factory, "__qualname__", repr(factory))))
    title = Text("ファクトリがホスト（HostUnderTest）を構築できる", "the factory builds the host (HostUnderTest)")
    t0 = time.perf_counter()
    try:
        host = factory()
        if not isinstance(host, HostUnderTest):
            raise _fail(
                f"ファクトリの戻り値が HostUnderTest ではありません: {type(host).__name__}",
                f"the factory did not return a HostUnderTest: {type(host).__name__}",
            )
        missing = [
            f.name
            for f in fields(HostUnderTest)
            if f.name in ("plugin_manager", "engine") and getattr(host, f.name) is None
        ]
        if missing:
            raise _fail(f"未設定の項目: {missing}", f"fields not set: {missing}")
    except Exception as err:
        report.results.append(CheckResult("factory", title, False, _reason_of(err), time.perf_counter() - t0))
        for check in CHECKS:
            report.results.append(CheckResult(check.check_id, check.title, False, _not_run(["factory"])))
        return report
    if host.name != "host":
        report.host = f"{report.host} ({host.name})"
    report.results.append(CheckResult("factory", title, True, None, time.perf_counter() - t0))
    monitor = Monitor(host.plugin_manager)
    state = State(host, monitor, HostHookCaller(host.plugin_manager))
    passed: dict[str, bool] = {"factory": True}
    try:
        for check in CHECKS:
            blocked = [req for req in check.requires if not passed.get(req)]
            if blocked:
                report.results.append(CheckResult(check.check_id, check.title, False, _not_run(blocked)))
                passed[check.check_id] = False
                continue
            t0 = time.perf_counter()
            try:
                note = check.run(state)
            except Exception as err:
                result = CheckResult(check.check_id, check.title, False, _reason_of(err), time.perf_counter() - t0)
            else:
                result = CheckResult(check.check_id, check.title, True, note, time.perf_counter() - t0)
            passed[check.check_id] = result.passed
            report.results.append(result)
    finally:
        monitor.stop()
        t0 = time.perf_counter()
        problems = _cleanup(state)
        if problems:
            title = Text("後片付け（試験用の表の削除と close）", "clean-up (dropping the probe table, close)")
            report.results.append(
                CheckResult("cleanup", title, False, Text.same("; ".join(problems)), time.perf_counter() - t0)
            )
    return report


def _not_run(blocked: list[str]) -> Text:
    names = ", ".join(blocked)
    return Text(f"前提のチェックが不合格のため実行できません: {names}", f"not run: prerequisite failed: {names}")


def _cleanup(state: State) -> list[str]:
    """Drop the probe table and close the host; what went wrong (the run itself never raises)."""
    problems = []
    steps: list[tuple[str, Callable[[], object]]] = []
    if state.probe_created:
        steps.append((f"drop {PROBE_TABLE}", lambda: drop_probe(state.engine)))
    if state.host.close is not None:
        steps.append(("close()", state.host.close))
    for what, step in steps:
        try:
            step()
        except Exception as err:
            problems.append(f"{what}: {type(err).__name__}: {err}")
    return problems
