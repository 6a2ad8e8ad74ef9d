"""The form fields of the host functions, with the rules validation applies and the errors it raises.

Each builder returns a ``Field`` (rendered into the input schema) and the error codes its value may
raise, so a descriptor lists exactly the errors of its fields. Rules mirror ``rules.validation``; the
property tests in ``tests/test_descriptors_agree.py`` hold the two together.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from dvflag_hookspecs import ROLE_LABELS, Choice, Condition, Field, Text
from dvflag_hookspecs.descriptors import NO_TEXT, Widget

from ..config import Settings
from ..rules.validation import MAX_INT, MAX_TEXT
from ..service.records import DELETE_REASONS
from ..storage.schema import DEPT_CODE_LEN, DEPT_NAME_LEN, USER_ID_LEN

NAME_MAX_CHARS = 100
"""氏名: up to 100 characters as staff count them (a variation selector adds none)."""
NAME_MAX_CODE_POINTS = 2 * NAME_MAX_CHARS
"""The schema counts code points: each visible character may carry one variation selector."""


def whole(body: str) -> str:
    """A pattern the whole value must match. It ends in ``(?![\\s\\S])`` rather than ``$``: Python's ``$`` (and
    so the jsonschema library) also matches before a final newline, ECMA-262's does not."""
    return f"^(?:{body})(?![\\s\\S])"


NOT_BLANK = r"^\s*\S[\s\S]*$"
"""Some character other than whitespace (a date of blanks is no date)."""
ROLES_MAX_ITEMS = 20
"""check_fields: a list parameter holds at most 20 strings."""
AUDIT_READ_MAX = 1000


@dataclass(frozen=True, slots=True)
class Built:
    """A field and the error codes its value may raise."""

    field: Field
    codes: tuple[str, ...]


def t(ja: str, en: str) -> Text:
    """Shorthand for a Japanese/English text."""
    return Text(ja, en)


_DATE_CODES = ("invalid.date_format", "invalid.invalid_date", "invalid.era_range")
_WAREKI_HELP = t(
    "西暦（2024-04-01）または和暦（令和6年4月1日、R6.4.1）で入力できます",
    "ISO 8601 (2024-04-01) or Japanese era text (令和6年4月1日, R6.4.1)",
)


def address_no(settings: Settings, *, required: bool = True) -> Built:
    """団体内統合宛名番号: digits (full-width accepted), length from the settings."""
    fixed = settings.address_no_fixed_len
    lo, hi = (fixed, fixed) if fixed is not None else (settings.address_no_min_len, settings.address_no_max_len)
    span = f"{lo}" if lo == hi else f"{lo},{hi}"
    digits = t(f"{lo}桁の数字", f"{lo} digits") if lo == hi else t(f"{lo}〜{hi}桁の数字", f"{lo} to {hi} digits")
    return Built(
        Field(
            "address_no", "string", t("団体内統合宛名番号", "Integrated address number"),
            help=t(f"{digits.ja}（全角数字も可。空白は不可）", f"{digits.en} (full-width digits accepted, no spaces)"),
            required=required, pattern=whole(f"[0-9０-９]{{{span}}}"), min_length=lo, max_length=hi,
            normalize=("digits",), examples=("0" * (lo - 1) + "1",),
        ),
        ("invalid.required", "invalid.type", "invalid.too_long", "invalid.digits", "invalid.length"),
    )


def name(*, required: bool = False, help_text: Text | None = None) -> Built:
    """氏名: NFC, up to 100 characters, 4-byte kanji and IVS kept. Personal."""
    return Built(
        Field(
            "name", "string", t("氏名", "Name"),
            help=help_text or t("100文字以内。外字・異体字（IVS）もそのまま保存します",
                                "Up to 100 characters; variant kanji (IVS) are kept as typed"),
            required=required, max_length=NAME_MAX_CODE_POINTS, max_chars=NAME_MAX_CHARS, personal=True,
            normalize=("nfc", "trim"),
        ),
        ("invalid.required", "invalid.type", "invalid.control_char", "invalid.variation_selector", "invalid.too_long"),
    )


SEX_CHOICES = (
    Choice(1, t("男", "Male")),
    Choice(2, t("女", "Female")),
    Choice(0, t("不明", "Unknown")),
    Choice(9, t("適用不能", "Not applicable")),
)


def sex_code(*, required: bool = False) -> Built:
    """性別: JIS X 5218 code."""
    return Built(
        Field(
            "sex_code", "integer", t("性別", "Sex"), help=t("JIS X 5218 のコード", "JIS X 5218 code"),
            required=required, widget="radio", choices=SEX_CHOICES, normalize=("digits", "integer"),
        ),
        ("invalid.type", "invalid.sex_code"),
    )


def a_date(field: str, title: Text, *, required: bool = False, personal: bool = False, future: bool = False,
           help_text: Text | None = None) -> Built:
    """A date given as ISO or 和暦 text; ``future`` when a day after today is refused."""
    extra = ("invalid.future",) if future else ()
    return Built(
        Field(
            field, "string", title, help=help_text or _WAREKI_HELP, required=required, widget="wareki-date",
            format="date", wareki=True, personal=personal, examples=("2024-04-01", "令和6年4月1日"),
            max_length=MAX_TEXT, pattern=NOT_BLANK,
        ),
        ("invalid.required", "invalid.type", "invalid.too_long", *_DATE_CODES, *extra),
    )


def code(field: str, title: Text, pattern: str, max_len: int, *, required: bool = False,
         help_text: Text = NO_TEXT) -> Built:
    """所属コード or 利用者ID: exactly the configured syntax, nothing trimmed or folded."""
    return Built(
        Field(
            field, "string", title, help=help_text, required=required, pattern=whole(pattern),
            min_length=1, max_length=max_len,
        ),
        ("invalid.required", "invalid.type", "invalid.too_long", "invalid.code_syntax"),
    )


def dept_code(settings: Settings, *, required: bool = False, help_text: Text = NO_TEXT) -> Built:
    """所属コード (syntax: ``dvflag.dept_code_pattern``)."""
    default_help = t("半角英数字と - _", "ASCII letters, digits, - and _")
    return code("dept_code", t("所属コード", "Department code"), settings.dept_code_pattern, DEPT_CODE_LEN,
                required=required, help_text=help_text if help_text.ja else default_help)


def user_id(settings: Settings, *, required: bool = False) -> Built:
    """利用者ID, the host's user id (syntax: ``dvflag.user_id_pattern``)."""
    return code("user_id", t("利用者ID", "User id"), settings.user_id_pattern, USER_ID_LEN, required=required,
                help_text=t("ホストの利用者ID", "The host's user id"))


def dept_name() -> Built:
    """所属名: only when the host organisation master cannot resolve the code."""
    return Built(
        Field(
            "dept_name", "string", t("所属名", "Department name"),
            help=t("組織マスタで解決できない所属のみ入力", "Only for a department the host master cannot resolve"),
            max_length=DEPT_NAME_LEN, normalize=("trim", "nfc"),
        ),
        ("invalid.required", "invalid.type", "invalid.too_long", "invalid.control_char", "invalid.dept_mismatch"),
    )


def positive_int(field: str, title: Text, *, required: bool = False, widget: Widget = "number",
                 maximum: int | None = None, default: int | None = None, help_text: Text = NO_TEXT) -> Built:
    """A record id, row version, sequence number or limit."""
    return Built(
        Field(
            field, "integer", title, help=help_text, required=required, widget=widget,
            minimum=1, maximum=MAX_INT if maximum is None else maximum, default=default, normalize=("integer",),
        ),
        ("invalid.required", "invalid.type", "invalid.too_long", "invalid.positive_int"),
    )


def record_id() -> Built:
    """レコードID of the registration acted on (bound from the row)."""
    return positive_int("record_id", t("レコードID", "Record id"), required=True, widget="hidden")


def row_version(*, required: bool = True) -> Built:
    """行バージョン as read: optimistic locking (bound from the row)."""
    return positive_int("row_version", t("行バージョン", "Row version"), required=required, widget="hidden")


def choice(field: str, title: Text, choices: tuple[Choice, ...], *, default: str | None = None,
           required: bool = False, widget: Widget = "select", help_text: Text = NO_TEXT,
           code: str = "invalid.choice") -> Built:
    """A fixed set of codes with Japanese titles."""
    return Built(
        Field(
            field, "string", title, help=help_text, required=required, widget=widget,
            choices=choices, default=default,
        ),
        (*(("invalid.required",) if required else ()), "invalid.type", "invalid.too_long", code),
    )


STATE_CHOICES = (
    Choice("active", t("有効", "Active")),
    Choice("released", t("解除済", "Released")),
    Choice("all", t("すべて", "All")),
)
DELETE_REASON_EN = {
    "mistaken_entry": "Entered by mistake",
    "wrong_person": "Wrong person",
    "wrong_department": "Wrong department",
    "duplicate_entry": "Duplicate entry",
}
DELETE_REASON_CHOICES = tuple(Choice(k, t(v, DELETE_REASON_EN[k])) for k, v in DELETE_REASONS.items())
FORMAT_CHOICES = (
    Choice("csv", t("CSV", "CSV")),
    Choice("xlsx", t("Excel", "Excel")),
    Choice("pdf", t("PDF（印刷用）", "PDF (for printing)")),
)
SCOPE_CHOICES = (Choice("own", t("自所属", "Own department")), Choice("all", t("全所属", "All departments")))
ENCODING_CHOICES = (
    Choice("utf-8-sig", t("UTF-8（BOM付き）", "UTF-8 with BOM")),
    Choice("cp932", t("Shift_JIS（CP932）", "Shift_JIS (CP932)")),
)
ROLE_EN = {
    "viewer": "Viewer", "registrar": "Registrar", "supervisor": "Supervisor (all departments)",
    "user_admin": "User administrator", "auditor": "Auditor",
}
ROLE_CHOICES = tuple(Choice(k, t(v, ROLE_EN[k])) for k, v in ROLE_LABELS.items())
USER_OP_CHOICES = (
    Choice("list", t("一覧", "List")),
    Choice("get", t("照会", "Show")),
    Choice("add", t("追加", "Add")),
    Choice("update", t("変更（所属・有効期間）", "Change department or validity")),
    Choice("roles", t("ロール変更", "Change roles")),
    Choice("disable", t("無効化", "Disable")),
    Choice("enable", t("有効化", "Enable")),
    Choice("attest", t("全利用者の証明（監査証跡に記録）", "Attest every account (in the audit trail)")),
)
AUDITED_ACTION_CHOICES = (
    Choice("register", t("登録", "Register")),
    Choice("update", t("変更", "Update")),
    Choice("release", t("解除", "Release")),
    Choice("unrelease", t("解除取消", "Undo release")),
    Choice("delete", t("削除", "Delete")),
    Choice("status", t("把握状況の照会", "Status")),
    Choice("search", t("検索", "Search")),
    Choice("export", t("抽出・印刷", "Export")),
    Choice("review_due", t("見直し対象一覧", "Review list")),
    Choice("users", t("利用者管理", "Users")),
    Choice("audit", t("監査", "Audit")),
    Choice("notices", t("注意喚起", "Cautions")),
    Choice("advice", t("フラグ解除前の確認", "Advice before clearing flags")),
)
OUTCOME_CHOICES = (
    Choice("ok", t("成功", "OK")),
    Choice("denied", t("拒否", "Denied")),
    Choice("error", t("エラー", "Error")),
)
SIGNATURE_CHOICES = (
    Choice("verified", t("署名検証済み", "Verified")),
    Choice("unsigned", t("署名なし（署名鍵が未設定）", "Unsigned (no signing key)")),
    Choice("unverified", t("署名あり・未検証（公開鍵が未設定）", "Signed, not verified (no public key)")),
    Choice("invalid", t("署名不正", "Invalid")),
)
CHECKPOINT_STATUS_CHOICES = (
    Choice("none", t("照合なし（チェックポイント未入力）", "None given")),
    Choice("ok", t("一致", "Matches")),
    Choice("unsigned", t("一致（チェックポイントの署名は未確認）", "Matches (its signature not checked)")),
    Choice("failed", t("不一致", "Does not match")),
)
AUDIT_OP_CHOICES = (
    Choice("verify", t("検証", "Verify")),
    Choice("read", t("閲覧", "Read events")),
    Choice("checkpoint", t("チェックポイント（先頭の連番とハッシュ）", "Checkpoint (head sequence and hash)")),
)


def when(field: str, *values: str | int | bool) -> tuple[Condition, ...]:
    """One condition: ``field`` has one of ``values``."""
    return (Condition(field, values),)


def shown(built: Built, conditions: tuple[Condition, ...], *, required_too: bool = False,
          required_when: tuple[Condition, ...] = (), refused_when_hidden: bool = False) -> Built:
    """``built`` shown only under ``conditions``; required under them (``required_too``) or ``required_when``;
    refused outside them when ``refused_when_hidden``."""
    f = replace(built.field, shown_when=conditions, required_when=conditions if required_too else required_when,
                refused_when_hidden=refused_when_hidden)
    return Built(f, built.codes)
