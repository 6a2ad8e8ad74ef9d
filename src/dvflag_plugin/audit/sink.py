"""One JSON line per audit event through structlog, to a local file or the host's stdlib logger.

The plugin never calls ``structlog.configure()``: it builds its own logger with ``wrap_logger``
and explicit processors, so the host's structlog and logging set-up stay untouched.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import IO, Any

import structlog

from dvflag_hookspecs import AuditEvent

from ..files import open_append, private_dir

EVENT_NAME = "dvflag.audit"
_FIELDS = dataclass_fields(AuditEvent)


class _LineFile:
    """A minimal structlog-compatible logger that appends one line per call to a file."""

    def __init__(self, path: Path) -> None:
        private_dir(path.parent)
        self._lock = threading.Lock()
        self._path = path
        self._fh: IO[str] | None = None

    def msg(self, message: str) -> None:
        self.write_lines([message])

    def write_lines(self, messages: list[str]) -> None:
        """Append the lines with one write and one flush."""
        with self._lock:
            if self._fh is None:
                self._fh = open_append(self._path)  # 0600 whatever the umask
            self._fh.write("".join(m + "\n" for m in messages))
            self._fh.flush()

    info = msg

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


def _fields(event: AuditEvent) -> dict[str, Any]:
    # A shallow dict of the fields (dataclasses.asdict deep-copies the details: half the cost).
    fields = {f.name: getattr(event, f.name) for f in _FIELDS}
    fields["occurred_at"] = event.occurred_at.isoformat()
    fields["details"] = dict(event.details)
    return fields


class AuditSink:
    """Renders audit events as JSON lines to a file (``path``) or a stdlib logger (``logger_name``)."""

    def __init__(self, *, path: str | None = None, logger_name: str = "dvflag.audit") -> None:
        target: Any
        self._file: _LineFile | None = None
        if path:
            self._file = target = _LineFile(Path(path))
        else:
            target = logging.getLogger(logger_name)
        self._render = structlog.processors.JSONRenderer(ensure_ascii=False, sort_keys=True)
        self._log = structlog.wrap_logger(
            target,
            processors=[self._render],
            wrapper_class=structlog.BoundLogger,
            context_class=dict,
            cache_logger_on_first_use=True,
        )

    def emit(self, event: AuditEvent) -> None:
        """Write one line for ``event`` (address number or record id only; never a name or date of birth)."""
        self._log.info(EVENT_NAME, **_fields(event))

    def emit_many(self, events: tuple[AuditEvent, ...] | list[AuditEvent]) -> None:
        """Write a sealed batch: to a file in one write (the same lines ``emit`` writes), else line by line."""
        if self._file is None:
            for event in events:
                self.emit(event)
        elif events:
            lines = [str(self._render(None, "info", {"event": EVENT_NAME, **_fields(e)})) for e in events]
            self._file.write_lines(lines)

    def close(self) -> None:
        """Close the file, if any."""
        if self._file is not None:
            self._file.close()
