"""Reading a trusted checkpoint given to ``dvflag audit verify`` (text on the command line or a file).

Today's form is ``SEQ:HASH`` (the chain head as printed by ``dvflag audit checkpoint``). The C2SP
signed-note form replaces it: extend ``parse_checkpoint`` to recognise that text and return the same
``(seq, hash)`` pair once its signature is checked, and every caller keeps working.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import OperatorError

_SEQ_HASH = re.compile(r"(\d+):([0-9a-f]{64})")


def parse_checkpoint(text: str, *, source: str) -> tuple[int, str]:
    """``(seq, hash)`` from a checkpoint's text; ``source`` names where it came from in the error."""
    match = _SEQ_HASH.fullmatch(text.strip())
    if match is None:
        raise OperatorError(
            f"チェックポイントの形式が正しくありません（{source}）。`dvflag audit checkpoint` が出力した "
            "連番:ハッシュ（SEQ:HASH）を指定してください",
            f"not a checkpoint ({source}): expected SEQ:HASH as printed by `dvflag audit checkpoint`",
        )
    return int(match.group(1)), match.group(2)


def read_checkpoint_file(path: Path) -> tuple[int, str]:
    """The checkpoint kept in ``path`` (a missing file is an expected failure: exit code 2)."""
    return parse_checkpoint(path.read_text(encoding="utf-8"), source=str(path))
