"""Message templates of every error code a host function may raise (ja as the plugin says it, and en).

``{label}`` is the field's title; other placeholders are rule values. The plugin's own message (on the
raised error) is always the one to show; these templates document the codes for host vendors.
"""

from __future__ import annotations

from typing import Final

from dvflag_hookspecs import ErrorSpec, Text

from ..rules.permissions import DENIAL_MESSAGES

FIELD_MESSAGES: Final[dict[str, Text]] = {
    "invalid.required": Text("{label}は必須です", "{label} is required"),
    "invalid.type": Text("{label}の型が正しくありません", "{label} has the wrong type"),
    "invalid.digits": Text("{label}は数字のみで入力してください", "{label} must be digits only"),
    "invalid.length": Text("{label}は{min}〜{max}桁で入力してください", "{label} must have {min} to {max} digits"),
    "invalid.sex_code": Text(
        "{label}は JIS X 5218 のコード（0:不明, 1:男, 2:女, 9:適用不能）で指定してください",
        "{label} must be a JIS X 5218 code (0, 1, 2 or 9)",
    ),
    "invalid.date_format": Text("{label}: 日付として解釈できません", "{label}: not a date"),
    "invalid.invalid_date": Text("{label}: 存在しない日付です", "{label}: no such calendar day"),
    "invalid.era_range": Text("{label}: その元号の範囲外の日付です", "{label}: outside the era's range"),
    "invalid.future": Text("{label}に未来の日付は指定できません", "{label} cannot be in the future"),
    "invalid.control_char": Text("{label}に使用できない文字が含まれています", "{label} contains a forbidden character"),
    "invalid.variation_selector": Text(
        "{label}: 異体字セレクタの位置が正しくありません", "{label}: misplaced variation selector"
    ),
    "invalid.too_long": Text("{label}は{max}文字以内で入力してください", "{label} must be at most {max} characters"),
    "invalid.code_syntax": Text(
        "{label}は半角英数字・「_」・「-」で入力してください", "{label} may hold ASCII letters, digits, _ and - only"
    ),
    "invalid.positive_int": Text("{label}は1以上の整数で指定してください", "{label} must be a positive integer"),
    "invalid.choice": Text("{label}は次のいずれかです: {choices}", "{label} must be one of: {choices}"),
    "invalid.reason_code": Text(
        "削除理由は次のいずれかを指定してください: {choices}", "The reason must be one of: {choices}"
    ),
    "invalid.bool": Text("{label}は true / false で指定してください", "{label} must be true or false"),
    "invalid.unknown_role": Text("未定義のロールです: {roles}", "Unknown role: {roles}"),
    "invalid.person_mismatch": Text(
        "{label}が宛名情報と一致しません。宛名情報を確認してください",
        "{label} differs from the address master; check the person",
    ),
    "invalid.range": Text("{label}: 範囲の開始と終了が逆です", "{label}: the range's start is after its end"),
    "invalid.before_input": Text(
        "解除日は入力日以降の日付を指定してください", "The release date must not precede the input date"
    ),
    "invalid.before_previous_release": Text(
        "入力日は前回の解除日以降の日付を指定してください", "The input date must not precede the previous release"
    ),
    "invalid.max": Text("{label}は{max}以下で指定してください", "{label} must be at most {max}"),
    "invalid.criteria": Text(
        "検索には団体内統合宛名番号・氏名・生年月日のいずれかを指定してください（登録者は自所属の一覧も可）",
        "Give an address number, a name or a birth date (a registrar may list its own department)",
    ),
    "invalid.search_key": Text(
        "氏名の検索語に文字（かな・漢字・英字）を含めてください", "The name searched for needs a letter, kana or kanji"
    ),
    "invalid.not_applicable": Text(
        "{label}は操作 {op} では指定できません", "{label} cannot be given with operation {op}"
    ),
    "invalid.hex64": Text("{label}は16進64桁で指定してください", "{label} must be 64 hexadecimal digits"),
    "invalid.dept_mismatch": Text(
        "所属名が組織情報と一致しません。所属名を省略するか組織情報を確認してください",
        "The department name differs from the organisation master; leave it out or check the master",
    ),
    "invalid.csv_only": Text(
        "文字コードと厳格モードは CSV 出力でのみ指定できます", "Encoding and strict mode apply to CSV only"
    ),
}
"""Templates of the ``invalid.*`` codes that name a field."""

GENERAL_MESSAGES: Final[dict[str, Text]] = {
    "invalid.unknown_field": Text("未定義の項目は受け付けられません: {fields}", "Unknown fields are refused: {fields}"),
    "invalid.mapping": Text(
        "パラメータは項目名と値の対応（辞書）で指定してください", "Parameters must be a mapping of names to values"
    ),
    "not_found.record": Text("レコードID {record_id} の登録は存在しません", "Registration {record_id} does not exist"),
    "not_found.user": Text("利用者 {user_id} は登録されていません", "User {user_id} is not registered"),
    "duplicate": Text(
        "この所属は既にこの宛名番号を有効な登録として保持しています",
        "This department already holds an active registration of this number",
    ),
    "duplicate.user": Text("利用者 {user_id} は既に登録されています", "User {user_id} already exists"),
    "stale_version": Text(
        "この登録は他の操作で更新されています。最新の内容を再表示してから操作してください",
        "Someone changed this row meanwhile; reload it and try again",
    ),
    "state.released": Text("この登録は既に解除されています", "This registration is already released"),
    "state.not_released": Text("この登録は解除されていません", "This registration is not released"),
    "internal": Text(
        "内部エラーが発生しました。システム管理者に連絡してください", "Internal error; contact the administrator"
    ),
    "storage.unavailable": Text(
        "データベースに接続できないため処理できませんでした。しばらくしてから再度操作してください",
        "The database could not be used; try again later",
    ),
    "audit.signing_key.required": Text(
        "監査証跡は署名鍵で封緘されています。署名鍵（設定 dvflag.audit_signing_key）のないプロセスは監査イベントを"
        "書けないため、処理しません",
        "The audit trail has signed seals and this process has no signing key (dvflag.audit_signing_key), "
        "so it writes no audit event and does nothing",
    ),
    "host.contract": Text(
        "ホストの宛名情報・組織情報の回答が取り決めと異なります（{hook}）",
        "The host's master-data answer breaks the contract ({hook})",
    ),
    "state.last_user_admin": Text(
        "利用者 {user_id} は最後の有効な利用者管理者です。先に別の利用者管理者を登録・有効化してください",
        "{user_id} is the last enabled user administrator; add or enable another one first",
    ),
    "invalid.exclusive": Text(
        "チェックポイントと連番・ハッシュは同時に指定できません",
        "Give either a checkpoint note or a sequence number and hash, not both",
    ),
    **{
        f"audit.checkpoint.{rule}": Text(
            "チェックポイントの形式が不正です: {detail}", f"The checkpoint is malformed ({rule}): {{detail}}"
        )
        for rule in ("size", "control", "newline", "lines", "origin", "hash", "signature")
    },
}
"""Templates of the codes that name no field."""

DENIAL_EN: Final[dict[str, str]] = {
    "user.unknown": "This user is not registered for this plugin",
    "user.disabled": "This user is disabled",
    "user.not_yet_valid": "This user's validity has not started",
    "user.expired": "This user's validity has ended",
    "user.dept_mismatch": "The host department differs from the registered one",
    "role.missing": "No role allows this operation",
    "dept.other": "Another department's data cannot be changed",
    "host.denied": "The host system does not allow this operation",
    "host.invalid_answer": "The host's authorisation answer was invalid, so the operation was refused",
    "users.own_roles": "You cannot change your own roles",
    "users.own_account": "You cannot change your own account",
    "action.unknown": "Unknown operation",
    "actor.invalid": "The actor handed over by the host is malformed",
}
DENIALS: Final[dict[str, Text]] = {code: Text(ja, DENIAL_EN[code]) for code, ja in DENIAL_MESSAGES.items()}
"""PermissionDenied codes (audited as denials), with the registry's Japanese messages."""

COMMON_DENIALS: Final = ("user.unknown", "user.disabled", "user.not_yet_valid", "user.expired",
                         "user.dept_mismatch", "role.missing", "host.denied", "host.invalid_answer")


def field_errors(field: str, codes: tuple[str, ...]) -> tuple[ErrorSpec, ...]:
    """The ErrorSpecs of one field's codes."""
    return tuple(ErrorSpec(code, FIELD_MESSAGES[code], field) for code in codes)


def general_errors(*codes: str) -> tuple[ErrorSpec, ...]:
    """The ErrorSpecs of codes that name no field (denials included)."""
    return tuple(ErrorSpec(code, GENERAL_MESSAGES.get(code) or DENIALS[code]) for code in codes)
