"""The descriptors of the eleven host functions, built for one host's settings (宛名番号 length …)."""

from __future__ import annotations

from typing import Any

from dvflag_hookspecs import (
    Column,
    Condition,
    Confirmation,
    Effects,
    ErrorSpec,
    Field,
    FileShape,
    FunctionDescriptor,
    Placement,
    ResultShape,
    Text,
)
from dvflag_hookspecs import roles as r

from ..config import Settings
from ..outputs import CSV_MEDIA_TYPES, FORMATS
from ..service.audit_ops import _ACTOR_ID as ACTOR_ID  # the one definition of the rule
from ..service.audit_ops import _HASH as HEX64
from ..service.audit_ops import AUDIT_FIELDS
from ..service.audit_ops import OP_FIELDS as AUDIT_OP_FIELDS
from ..service.audit_ops import OPS as AUDIT_OPS
from ..service.users import OP_FIELDS, USER_FIELDS
from ..service.users import OPS as USER_OPS
from . import fields as fl
from .error_catalogue import COMMON_DENIALS, field_errors, general_errors
from .fields import Built, t

# -- shared pieces -------------------------------------------------------------------------------

_GENERAL = ("invalid.unknown_field", "invalid.mapping", "internal", "storage.unavailable", "audit.signing_key.required",
            *COMMON_DENIALS)

READ: Effects = Effects(read_only=True, changes_data=False, destructive=False, idempotent=True)
WRITE: Effects = Effects(read_only=False, changes_data=True, destructive=False, idempotent=False, personal_output=True)
"""A change that answers with the registration (氏名・生年月日 included)."""

REGISTRATION_COLUMNS = (
    Column("address_no", t("団体内統合宛名番号", "Address number"), "code"),
    Column("name", t("氏名", "Name"), personal=True),
    Column("sex_code", t("性別", "Sex"), "sex-label"),
    Column("birth_date", t("生年月日", "Date of birth"), "wareki-date", personal=True),
    Column("dept_code", t("所属コード", "Department code"), "code"),
    Column("dept_name", t("所属名", "Department")),
    Column("input_date", t("入力日", "Input date"), "wareki-date"),
    Column("release_date", t("解除日", "Release date"), "wareki-date"),
    Column("record_id", t("レコードID", "Record id"), "number"),
    Column("row_version", t("行バージョン", "Row version"), "number"),
)
USER_COLUMNS = (
    Column("user_id", t("利用者ID", "User id"), "code"),
    Column("dept_code", t("所属コード", "Department code"), "code"),
    Column("roles", t("ロール", "Roles"), "roles"),
    Column("enabled", t("有効", "Enabled"), "bool"),
    Column("valid_from", t("有効開始日", "Valid from"), "wareki-date"),
    Column("valid_to", t("有効終了日", "Valid to"), "wareki-date"),
    Column("row_version", t("行バージョン", "Row version"), "number"),
)
RECORD_BIND = (("record_id", "row.record_id"), ("row_version", "row.row_version"))
PERSON_BIND = (("address_no", "person.address_no"),)
ROW_SHOW = ("row.address_no", "row.dept_name", "row.input_date", "row.release_date")
REGISTRATION_ACTIONS = (r.F_UPDATE, r.F_RELEASE, r.F_UNRELEASE, r.F_DELETE)


def _record_result(message: Text) -> tuple[ResultShape, ...]:
    return (ResultShape("record", t("登録内容", "Registration"), REGISTRATION_COLUMNS, message=message),)


def _errors(built: tuple[Built, ...], *general: str) -> tuple[ErrorSpec, ...]:
    specs: list[ErrorSpec] = []
    for b in built:
        specs.extend(field_errors(b.field.name, b.codes))
    specs.extend(general_errors(*_GENERAL, *general))
    return tuple(specs)


def _descriptor(
    function_id: str, title: Text, help_text: Text, roles: tuple[str, ...], built: tuple[Built, ...], *,
    placements: tuple[Placement, ...], effects: Effects, results: tuple[ResultShape, ...], audit_action: str,
    general: tuple[str, ...] = (), extra_errors: tuple[ErrorSpec, ...] = (),
    confirmations: tuple[Confirmation, ...] = (), dependent_required: tuple[tuple[str, tuple[str, ...]], ...] = (),
) -> FunctionDescriptor:
    return FunctionDescriptor(
        function_id=function_id, title=title, help=help_text, roles=roles, fields=tuple(b.field for b in built),
        placements=placements, effects=effects, results=results,
        errors=_errors(built, *general) + extra_errors, audit_action=audit_action,
        confirmations=confirmations, dependent_required=dependent_required,
    )


# -- the functions -------------------------------------------------------------------------------


def _register(settings: Settings) -> FunctionDescriptor:
    manual = t(
        "宛名情報で解決できない方（住登外）のみ必須", "Required only when the address master cannot resolve the person"
    )
    built = (
        fl.address_no(settings),
        fl.name(help_text=t(f"{manual.ja}。100文字以内", f"{manual.en}; up to 100 characters")),
        fl.sex_code(),
        fl.a_date("birth_date", t("生年月日", "Date of birth"), personal=True, future=True,
                  help_text=t(f"{manual.ja}。和暦も可（昭和50年4月1日）", f"{manual.en}; 和暦 accepted")),
        fl.dept_code(settings, help_text=t("省略時は操作者の所属", "Default: the operator's department")),
        fl.dept_name(),
        fl.a_date("input_date", t("入力日", "Input date"), future=True,
                  help_text=t("省略時は本日。和暦も可", "Default: today; 和暦 accepted")),
    )
    return _descriptor(
        r.F_REGISTER, t("DV等被害者の登録", "Register a protected person"),
        t("この所属がこの方を DV等被害者として把握していることを登録します。"
          "氏名・性別・生年月日は宛名情報から取得します",
          "Record that this department holds the person as protected; name, sex and birth date come from the "
          "address master"),
        (r.REGISTRAR,), built,
        placements=(Placement("menu", 10), Placement("person", 10, PERSON_BIND)),
        effects=WRITE,
        results=_record_result(t("登録しました（レコードID {record_id}）", "Registered (record {record_id})")),
        audit_action="register",
        general=("dept.other", "duplicate"),
        extra_errors=(
            *field_errors("name", ("invalid.person_mismatch",)),
            *field_errors("input_date", ("invalid.before_previous_release",)),
        ),
    )


def _update(settings: Settings) -> FunctionDescriptor:
    built = (
        fl.record_id(), fl.row_version(),
        fl.name(), fl.sex_code(),
        fl.a_date("birth_date", t("生年月日", "Date of birth"), personal=True, future=True),
    )
    return _descriptor(
        r.F_UPDATE, t("登録内容の変更", "Correct a registration"),
        t("自所属の登録の氏名・性別・生年月日を訂正します。変更する項目だけ入力してください",
          "Correct name, sex or birth date of an own registration; fill in only what changes"),
        (r.REGISTRAR,), built,
        placements=(Placement("record", 10, RECORD_BIND),),
        effects=WRITE,
        results=_record_result(t("変更しました", "Updated")),
        audit_action="update",
        general=("dept.other", "not_found.record", "stale_version"),
    )


def _release(settings: Settings) -> FunctionDescriptor:
    built = (
        fl.record_id(), fl.row_version(),
        fl.a_date("release_date", t("解除日", "Release date"), future=True,
                  help_text=t("省略時は本日。和暦も可", "Default: today; 和暦 accepted")),
    )
    return _descriptor(
        r.F_RELEASE, t("解除", "Release"),
        t("この所属による把握を終了します。他の所属の登録には影響しません",
          "End this department's protection of the person; other departments' registrations stay"),
        (r.REGISTRAR,), built,
        placements=(Placement("record", 20, RECORD_BIND),),
        effects=WRITE,
        results=_record_result(t("解除しました", "Released")),
        audit_action="release",
        general=("dept.other", "not_found.record", "stale_version", "state.released"),
        extra_errors=field_errors("release_date", ("invalid.before_input",)),
        confirmations=(Confirmation(
            "confirm",
            t("この登録を解除します。解除日以降、この所属はこの方を DV等被害者として把握していない扱いになります。"
              "よろしいですか。",
              "Release this registration? From the release date this department no longer holds the person "
              "as protected."),
            show=(*ROW_SHOW, "release_date"), button=t("解除する", "Release"),
        ),),
    )


def _unrelease(settings: Settings) -> FunctionDescriptor:
    built = (fl.record_id(), fl.row_version())
    return _descriptor(
        r.F_UNRELEASE, t("解除取消", "Undo a release"),
        t("誤って解除した登録を、解除前の状態に戻します", "Undo a release made by mistake"),
        (r.REGISTRAR,), built,
        placements=(Placement("record", 30, RECORD_BIND),),
        effects=WRITE,
        results=_record_result(t("解除を取り消しました", "Release undone")),
        audit_action="unrelease",
        general=("dept.other", "not_found.record", "stale_version", "state.not_released"),
        confirmations=(Confirmation(
            "confirm",
            t("この登録の解除を取り消します。この所属は再びこの方を DV等被害者として把握している扱いになります。"
              "よろしいですか。",
              "Undo the release? This department will again hold the person as protected."),
            show=ROW_SHOW, button=t("解除を取り消す", "Undo release"),
        ),),
    )


def _delete(settings: Settings) -> FunctionDescriptor:
    built = (
        fl.record_id(), fl.row_version(),
        fl.choice("reason", t("削除理由", "Reason"), fl.DELETE_REASON_CHOICES, required=True, widget="radio",
                  code="invalid.reason_code"),
    )
    return _descriptor(
        r.F_DELETE, t("削除（誤登録）", "Delete (entered by mistake)"),
        t("誤って登録したものを削除します。把握の終了には「解除」を使ってください",
          "Remove a registration entered by mistake; to end protection use Release instead"),
        (r.REGISTRAR,), built,
        placements=(Placement("record", 90, RECORD_BIND),),
        effects=Effects(read_only=False, changes_data=True, destructive=True, idempotent=False),
        results=(ResultShape("message", t("削除", "Deleted"),
                             message=t("削除しました（レコードID {record_id}）", "Deleted (record {record_id})")),),
        audit_action="delete",
        general=("dept.other", "not_found.record", "stale_version"),
        confirmations=(Confirmation(
            "danger",
            t("この登録を削除します。削除は誤登録を取り消すためのもので、元に戻せません（監査証跡には残ります）。"
              "把握を終えるだけなら「解除」を使ってください。本当に削除しますか。",
              "Delete this registration? Deletion corrects a mistaken entry and cannot be undone (the audit "
              "trail keeps it). To end protection, use Release. Really delete?"),
            show=(*ROW_SHOW, "reason"), button=t("削除する", "Delete"),
        ),),
    )


def _status(settings: Settings) -> FunctionDescriptor:
    built = (fl.address_no(settings),)
    return _descriptor(
        r.F_STATUS, t("把握状況の照会", "Who holds this person"),
        t("この方を DV等被害者として把握している所属を表示します", "Show the departments holding the person today"),
        (r.VIEWER, r.REGISTRAR), built,
        placements=(
            Placement("menu", 20), Placement("person", 20, PERSON_BIND), Placement("flag_clearing", 10, PERSON_BIND),
        ),
        effects=READ,
        results=(ResultShape(
            "table", t("把握状況", "Holding departments"),
            (Column("dept_code", t("所属コード", "Department code"), "code"),
             Column("dept_name", t("所属名", "Department")),
             Column("input_date", t("入力日", "Input date"), "wareki-date")),
            rows="holdings", message=t("{as_of} 現在", "As of {as_of}"),
            empty=t("この方を把握している所属はありません", "No department holds this person"),
        ),),
        audit_action="status",
    )


def _search(settings: Settings) -> FunctionDescriptor:
    cap = settings.search_max_rows
    built = (
        fl.address_no(settings, required=False),
        fl.name(help_text=t("部分一致。異体字・全角半角・かなを同一視します",
                            "Partial match; variant kanji, width and kana are folded")),
        fl.a_date("birth_date", t("生年月日", "Date of birth"), personal=True),
        fl.dept_code(settings, help_text=t("登録者が自所属を一覧するとき", "A registrar listing its own department")),
        fl.choice("state", t("状態", "State"), fl.STATE_CHOICES, default="active", widget="radio"),
        fl.a_date("input_from", t("入力日（開始）", "Input date from")),
        fl.a_date("input_to", t("入力日（終了）", "Input date to")),
        fl.positive_int("limit", t("最大件数", "Maximum rows"), maximum=cap, default=cap,
                        help_text=t(f"{cap}件まで", f"Up to {cap}")),
    )
    return _descriptor(
        r.F_SEARCH, t("対象者の検索", "Search"),
        t("宛名番号・氏名・生年月日のいずれかで登録を検索します（登録者は自所属の一覧も可）",
          "Find registrations by address number, name or birth date (a registrar may list its own department)"),
        (r.VIEWER, r.REGISTRAR), built,
        placements=(Placement("menu", 30),),
        effects=Effects(read_only=True, changes_data=False, destructive=False, idempotent=True, personal_output=True),
        results=(ResultShape(
            "table", t("検索結果", "Results"), REGISTRATION_COLUMNS, rows="rows",
            empty=t("該当する登録はありません", "No registration matches"), row_actions=REGISTRATION_ACTIONS,
            row_actions_dept="dept_code",
            flag_messages=(("truncated", t("該当が多いため先頭{limit}件のみ表示しています。条件を絞り込んでください",
                                           "Only the first {limit} matches are shown; narrow the search")),),
        ),),
        audit_action="search",
        extra_errors=(*field_errors("input_from", ("invalid.range",)),
                      *field_errors("address_no", ("invalid.criteria",)),
                      *field_errors("name", ("invalid.search_key",)),
                      *field_errors("limit", ("invalid.max",))),
    )


def _export(settings: Settings) -> FunctionDescriptor:
    csv_only = fl.when("format", "csv")
    built = (
        fl.choice("format", t("出力形式", "Format"), fl.FORMAT_CHOICES, default="csv", widget="radio"),
        fl.choice("scope", t("出力範囲", "Scope"), fl.SCOPE_CHOICES, default="own", widget="radio",
                  help_text=t("全所属は全庁抽出者のみ", "All departments: supervisors only")),
        fl.choice("state", t("状態", "State"), fl.STATE_CHOICES, default="active", widget="radio"),
        fl.dept_code(settings, help_text=t("全所属の出力でこの所属に絞り込みます", "Scope all: only this department")),
        fl.a_date("input_from", t("入力日（開始）", "Input date from")),
        fl.a_date("input_to", t("入力日（終了）", "Input date to")),
        fl.shown(fl.choice("encoding", t("文字コード", "Encoding"), fl.ENCODING_CHOICES, default="utf-8-sig",
                           widget="radio"), csv_only, refused_when_hidden=True),
        fl.shown(Built(Field("strict", "boolean", t("厳格モード", "Strict"),
                                   help=t("Shift_JIS で表せない文字があれば〓に置き換えず中止します",
                                          "Refuse instead of replacing characters Shift_JIS cannot hold"),
                                   widget="checkbox", default=False, normalize=("boolean",)),
                          ("invalid.type", "invalid.too_long", "invalid.bool")), csv_only),
    )
    return _descriptor(
        r.F_EXPORT, t("対象者一覧の抽出・印刷", "Export or print the list"),
        t("把握状況一覧を CSV・Excel・PDF で出力します。出力番号と SHA-256 が監査証跡に記録されます",
          "Produce the list as CSV, Excel or PDF; its output number and SHA-256 are audited"),
        (r.REGISTRAR, r.SUPERVISOR), built,
        placements=(Placement("menu", 40),),
        effects=Effects(read_only=True, changes_data=False, destructive=False, idempotent=False, personal_output=True),
        results=(ResultShape(
            "file", t("出力ファイル", "Output file"),
            (Column("output_no", t("出力番号", "Output number"), "code"),
             Column("format", t("出力形式", "Format"), "code", choices=fl.FORMAT_CHOICES),
             Column("row_count", t("件数", "Rows"), "number"),
             Column("page_count", t("ページ数", "Pages"), "number"),
             Column("sha256", t("SHA-256", "SHA-256"), "hash")),
            message=t("出力番号 {output_no}（{row_count}件）", "Output {output_no} ({row_count} rows)"),
            file=FileShape(media_types=(*CSV_MEDIA_TYPES.values(), FORMATS["xlsx"].media_type,
                                        FORMATS["pdf"].media_type)),
        ),),
        audit_action="export",
        general=("dept.other",),
        extra_errors=(*field_errors("input_from", ("invalid.range",)),
                      *field_errors("encoding", ("invalid.csv_only",))),
        confirmations=(Confirmation(
            "confirm",
            t("個人情報を含む一覧を出力します。出力番号とともに監査証跡に記録されます。取扱いに注意してください。",
              "This list contains personal information; it is audited with its output number. Handle it with care."),
            show=("format", "scope", "state"), button=t("出力する", "Export"),
        ),),
    )


def _review_due(settings: Settings) -> FunctionDescriptor:
    built = (fl.dept_code(settings, help_text=t("省略時は操作者の所属", "Default: the operator's department")),)
    columns = (
        *(Column(f"registration.{c.key}", c.title, c.format, c.personal) for c in REGISTRATION_COLUMNS),
        Column("due_date", t("見直し期限", "Review due"), "wareki-date"),
        Column("overdue", t("期限超過", "Overdue"), "bool"),
    )
    return _descriptor(
        r.F_REVIEW_DUE, t("見直し対象一覧", "Registrations due for review"),
        t(f"登録から{settings.review_period_months}か月を経過した（または{settings.review_alert_months}か月以内に経過する）"
          "自所属の登録です", f"Own registrations older than {settings.review_period_months} months (or within "
          f"{settings.review_alert_months} of it)"),
        (r.REGISTRAR,), built,
        placements=(Placement("menu", 50),),
        effects=Effects(read_only=True, changes_data=False, destructive=False, idempotent=True, personal_output=True),
        results=(ResultShape(
            "table", t("見直し対象", "Due for review"), columns, rows="",
            empty=t("見直し対象の登録はありません", "Nothing is due for review"),
            row_actions=(r.F_RELEASE, r.F_UPDATE), row_base="registration", row_actions_dept="dept_code",
        ),),
        audit_action="review_due",
        general=("dept.other",),
    )


def _users(settings: Settings) -> FunctionDescriptor:
    def only(field: str) -> tuple[Condition, ...]:
        return fl.when("op", *(op for op in USER_OPS if field in OP_FIELDS[op]))

    def used(b: Built, **kwargs: Any) -> Built:
        return fl.shown(b, only(b.field.name), refused_when_hidden=True, **kwargs)

    built = (
        fl.choice("op", t("操作", "Operation"), fl.USER_OP_CHOICES, default="list"),
        used(fl.user_id(settings), required_when=only("user_id")),
        used(fl.dept_code(settings), required_when=fl.when("op", "add")),
        used(Built(Field("roles", "array", t("ロール", "Roles"), widget="checkboxes", choices=fl.ROLE_CHOICES,
                         normalize=("list",), max_items=fl.ROLES_MAX_ITEMS),
                   ("invalid.required", "invalid.type", "invalid.too_long", "invalid.unknown_role")),
             required_when=fl.when("op", "roles")),
        used(fl.a_date("valid_from", t("有効開始日", "Valid from"),
                       help_text=t("省略時は本日。和暦も可", "Default: today; 和暦 accepted"))),
        used(fl.a_date("valid_to", t("有効終了日", "Valid to"))),
        used(Built(Field("enabled", "boolean", t("有効", "Enabled"), widget="checkbox", normalize=("boolean",),
                         help=t("追加で省略すると有効。変更では指定したときだけ変わります",
                                "Add: enabled unless given; update: changes only when given")),
                   ("invalid.type", "invalid.too_long", "invalid.bool"))),
        used(fl.row_version(required=False)),
    )
    return _descriptor(
        r.F_USERS, t("利用者管理", "Users"),
        t("本機能の利用者（ホストの利用者ID・所属・ロール・有効期間）を管理します。自分のロールは変更できません",
          "Manage the plugin's users (host user id, department, roles, validity); nobody changes own roles"),
        (r.USER_ADMIN,), built,
        placements=(Placement("administration", 10),),
        effects=Effects(read_only=False, changes_data=True, destructive=False, idempotent=False),
        results=(
            ResultShape("table", t("利用者一覧", "Users"), USER_COLUMNS, when=fl.when("op", "list", "attest"),
                        empty=t("利用者は登録されていません", "No users")),
            ResultShape("record", t("利用者", "User"), USER_COLUMNS),
        ),
        audit_action="users",
        general=("not_found.user", "duplicate.user", "stale_version", "users.own_roles", "users.own_account",
                 "state.last_user_admin"),
        extra_errors=(*field_errors("valid_to", ("invalid.range",)),
                      *(spec for name in USER_FIELDS[1:] for spec in field_errors(name, ("invalid.not_applicable",)))),
        confirmations=(
            Confirmation(
                "danger",
                t("{user_id} のロールを変更します。変更は直ちに有効になり、監査証跡に記録されます。よろしいですか。",
                  "Change the roles of {user_id}? The change applies at once and is audited."),
                when=fl.when("op", "roles"), show=("user_id", "roles"), button=t("ロールを変更する", "Change roles"),
            ),
            Confirmation(
                "confirm",
                t("{user_id} を無効化します。この利用者は本機能を利用できなくなります。よろしいですか。",
                  "Disable {user_id}? The user can no longer use this plugin."),
                when=fl.when("op", "disable"), show=("user_id",), button=t("無効化する", "Disable"),
            ),
            Confirmation(
                "confirm",
                t("現在のすべての利用者の所属・ロール・有効期間・有効を正しいものとして監査証跡に記録します。以後、"
                  "プラグインを経ずに変更・追加された利用者は検証で報告されます。先に一覧で内容を確認してください。"
                  "よろしいですか。",
                  "Record every account as it stands (department, roles, validity, enabled) in the audit trail? "
                  "From then on verify reports accounts changed or added outside the plugin. Check the list first."),
                when=fl.when("op", "attest"), show=(), button=t("証明する", "Attest"),
            ),
        ),
    )


def _audit(settings: Settings) -> FunctionDescriptor:
    def used(b: Built) -> Built:
        ops = tuple(op for op in AUDIT_OPS if b.field.name in AUDIT_OP_FIELDS[op])
        return fl.shown(b, fl.when("op", *ops), refused_when_hidden=True)

    read = fl.when("op", "read")
    verify = fl.when("op", "verify")
    built = (
        fl.choice("op", t("操作", "Operation"), fl.AUDIT_OP_CHOICES, default="verify"),
        used(fl.positive_int("from_seq", t("開始連番", "From sequence number"), default=1)),
        used(fl.positive_int("limit", t("最大件数", "Maximum events"), default=100,
                             help_text=t(f"{fl.AUDIT_READ_MAX}件まで（超える指定は{fl.AUDIT_READ_MAX}件）",
                                         f"At most {fl.AUDIT_READ_MAX} are returned"))),
        used(fl.choice("action", t("操作名", "Action"), fl.AUDITED_ACTION_CHOICES)),
        used(Built(Field("actor_id", "string", t("操作者ID", "Actor id"), pattern=fl.whole(ACTOR_ID.pattern),
                         min_length=1, max_length=64),
                   ("invalid.type", "invalid.too_long", "invalid.code_syntax"))),
        used(Built(Field("checkpoint", "string", t("チェックポイント", "Checkpoint"),
                         help=t("以前に控えた署名付きチェックポイント（複数行）をそのまま貼り付けます"
                                "（旧形式の 連番:ハッシュ も可）",
                                "Paste a signed checkpoint note kept earlier, all its lines (or SEQ:HASH)"),
                         widget="textarea", min_length=1, max_length=1000),
                   ("invalid.type", "invalid.too_long"))),
        used(fl.positive_int("checkpoint_seq", t("チェックポイント連番", "Checkpoint sequence number"))),
        used(Built(Field("checkpoint_hash", "string", t("チェックポイントハッシュ", "Checkpoint hash"),
                         help=t("以前に控えた先頭ハッシュ（16進64桁）", "The head hash noted earlier"),
                         pattern=fl.whole(HEX64.pattern), min_length=64, max_length=64),
                   ("invalid.required", "invalid.type", "invalid.too_long", "invalid.hex64"))),
    )
    verification = ResultShape(
        "verification", t("検証結果", "Verification"),
        (Column("ok", t("結果", "Result"), "bool"), Column("checked", t("検証件数", "Events checked"), "number"),
         Column("head_seq", t("先頭連番", "Head sequence"), "number"),
         Column("head_hash", t("先頭ハッシュ", "Head hash"), "hash"),
         Column("first_broken_seq", t("最初の不整合連番", "First broken sequence"), "number"),
         Column("signature", t("署名", "Signature"), "code", choices=fl.SIGNATURE_CHOICES),
         Column("checkpoint", t("チェックポイント照合", "Checkpoint"), "code", choices=fl.CHECKPOINT_STATUS_CHOICES),
         Column("unsealed", t("未封印のイベント", "Unsealed events"), "number"),
         Column("registry_checked", t("照合した利用者台帳の件数", "Registry rows checked"), "number"),
         Column("findings", t("検出事項", "Findings"), "lines")),
        message=t("{message}", "{message}"), ok_field="ok", when=verify,
    )
    events = ResultShape(
        "table", t("監査イベント", "Audit events"),
        (Column("seq", t("連番", "Seq"), "number"), Column("occurred_at", t("日時", "Time"), "datetime"),
         Column("actor_id", t("操作者", "Actor"), "code"), Column("actor_dept", t("所属", "Department"), "code"),
         Column("action", t("操作", "Action"), "code", choices=fl.AUDITED_ACTION_CHOICES),
         Column("target", t("対象", "Target"), "code"),
         Column("outcome", t("結果", "Outcome"), "code", choices=fl.OUTCOME_CHOICES),
         Column("reason_code", t("理由", "Reason"), "code"),
         Column("details", t("詳細", "Details"), "json"), Column("hash", t("ハッシュ", "Hash"), "hash")),
        when=read, empty=t("該当するイベントはありません", "No events"),
    )
    head = ResultShape(
        "record", t("チェックポイント", "Checkpoint"),
        (Column("seq", t("先頭連番", "Head sequence"), "number"),
         Column("hash", t("先頭ハッシュ", "Head hash"), "hash"),
         Column("note", t("署名付きチェックポイント", "Signed checkpoint"), "note")),
        message=t("署名付きチェックポイントを全行そのまま写し、紙などシステムの外に控えてください。"
                  "検証のときに貼り付けて照合します",
                  "Copy the signed checkpoint, every line, and keep it outside the system; paste it when verifying"),
    )
    return _descriptor(
        r.F_AUDIT, t("監査証跡の照会・検証", "Audit trail"),
        t("監査証跡のハッシュ連鎖を検証し、イベントを閲覧します", "Verify the audit hash chain and read its events"),
        (r.AUDITOR,), built,
        placements=(Placement("administration", 20),),
        effects=READ,
        results=(verification, events, head),
        audit_action="audit",
        general=("invalid.exclusive", *(f"audit.checkpoint.{rule}" for rule in
                                        ("size", "control", "newline", "lines", "origin", "hash", "signature"))),
        dependent_required=(("checkpoint_seq", ("checkpoint_hash",)), ("checkpoint_hash", ("checkpoint_seq",))),
        extra_errors=tuple(
            spec for name in AUDIT_FIELDS[1:] for spec in field_errors(name, ("invalid.not_applicable",))
        ),
    )


_BUILDERS = (
    _register, _update, _release, _unrelease, _delete, _status, _search, _export, _review_due, _users, _audit,
)


def build_descriptors(settings: Settings) -> dict[str, FunctionDescriptor]:
    """Every host function's descriptor for these settings, by function id (in FUNCTION_IDS order)."""
    found = {d.function_id: d for d in (b(settings) for b in _BUILDERS)}
    return found
