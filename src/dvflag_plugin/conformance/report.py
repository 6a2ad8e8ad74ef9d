"""The conformance report: one line per check, PASS or FAIL with its reason, in Japanese and English."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Lang = Literal["ja", "en", "both"]
LANGS: tuple[str, ...] = ("ja", "en", "both")


@dataclass(frozen=True, slots=True)
class Text:
    """A message in both languages (the same text twice when it comes from the host, e.g. an error)."""

    ja: str
    en: str

    @classmethod
    def same(cls, text: str) -> Text:
        """One text for both languages (exception messages, values)."""
        return cls(text, text)

    def get(self, lang: str) -> str:
        """The text in ``lang`` (``ja`` or ``en``)."""
        return self.ja if lang == "ja" else self.en


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one named check."""

    check_id: str
    title: Text
    passed: bool
    reason: Text | None = None
    """Why it failed (or a note about what was seen when it passed)."""
    seconds: float = 0.0

    @property
    def status(self) -> str:
        """``PASS`` or ``FAIL``."""
        return "PASS" if self.passed else "FAIL"


@dataclass
class Report:
    """Every check's result, in the order run; ``exit_code`` is 0 only if all passed."""

    host: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every check passed (and there was at least one)."""
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def exit_code(self) -> int:
        """0 when all checks passed, else 1."""
        return 0 if self.passed else 1

    def failed(self) -> list[CheckResult]:
        """The failed checks."""
        return [r for r in self.results if not r.passed]

    def result(self, check_id: str) -> CheckResult:
        """The result of one check (KeyError when it was not run)."""
        for r in self.results:
            if r.check_id == check_id:
                return r
        raise KeyError(check_id)

    def failed_ids(self) -> set[str]:
        """Ids of the failed checks."""
        return {r.check_id for r in self.failed()}

    def render(self, lang: str = "both") -> str:
        """The report as text: ``ja``, ``en`` or ``both`` (Japanese first)."""
        if lang not in LANGS:
            raise ValueError(f"lang must be one of {LANGS}")
        if lang == "both":
            return self._render("ja") + "\n" + self._render("en")
        return self._render(lang)

    def _render(self, lang: str) -> str:
        ja = lang == "ja"
        lines = [
            ("dvflag 適合性試験（ホストアダプタ）" if ja else "dvflag conformance (host adapter)"),
            (f"対象ホスト: {self.host}" if ja else f"host under test: {self.host}"),
            "",
        ]
        width = max((len(r.check_id) for r in self.results), default=0)
        for r in self.results:
            lines.append(f"[{r.status}] {r.check_id.ljust(width)}  {r.title.get(lang)}  ({r.seconds:.2f}s)")
            if r.reason is not None:
                label = ("理由" if ja else "reason") if not r.passed else ("備考" if ja else "note")
                for i, part in enumerate(r.reason.get(lang).splitlines() or [""]):
                    lines.append(f"         {label + ': ' if i == 0 else '  '}{part}")
        total, ok = len(self.results), sum(r.passed for r in self.results)
        lines.append("")
        if ja:
            verdict = "適合" if self.passed else "不適合"
            lines.append(f"結果: {total} 件中 {ok} 件合格、{total - ok} 件不合格 → {verdict}")
        else:
            verdict = "CONFORMS" if self.passed else "DOES NOT CONFORM"
            lines.append(f"result: {ok} of {total} checks passed, {total - ok} failed → {verdict}")
        return "\n".join(lines) + "\n"

    def assert_passed(self) -> None:
        """Raise AssertionError with the rendered report unless every check passed (for pytest)."""
        if not self.passed:
            raise AssertionError("\n" + self.render("both"))
