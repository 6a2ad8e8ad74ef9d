"""One JSON line per audit event through structlog, to a local file or the host's stdlib logger.

The plugin never calls ``structlog.configure()``: it builds its own logger with ``wrap_logger``
and explicit processors, so the host's structlog and logging set-up stay untouched.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

import structlog

from dvflag_hookspecs import AuditEvent

from ..files import open_append, private_dir

EVENT_NAME = "dvflag.audit"


class _LineFile:
    """A minimal structlog-compatible logger that appends one line per call to a file."""

    def __init__(self, path: Path) -> None:
        private_dir(path.parent)
        self._lock = threading.Lock()
        self._path = path
        self._fh: IO[str] | None = None

    def msg(self, message: str) -> None:
        with self._lock:
            if self._fh is None:
                self._fh = open_append(self._path)  # 0600 whatever the umask
            self._fh.write(message + "\n")
            self._fh.flush()

    info = msg

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


class AuditSink:
    """Renders audit events as JSON lines to a file (``path``) or a stdlib logger (``logger_name``)."""

    def __init__(self, *, path: str | None = None, logger_name: str = "dvflag.audit") -> None:
        target: Any
        self._file: _LineFile | None = None
        if path:
            self._file = target = _LineFile(Path(path))
        else:
            target = logging.getLogger(logger_name)
        self._log = structlog.wrap_logger(
            target,
            processors=[structlog.processors.JSONRenderer(ensure_ascii=False, sort_keys=True)],
            wrapper_class=structlog.BoundLogger,
            context_class=dict,
            cache_logger_on_first_use=True,
        )

    def emit(self, event: AuditEvent) -> None:
        """Write one line for ``event`` (address number or record id only; never a name or date of birth)."""
        fields = asdict(event)
        fields["occurred_at"] = event.occurred_at.isoformat()
        fields["details"] = dict(event.details)
        self._log.info(EVENT_NAME, **fields)

    def close(self) -> None:
        """Close the file, if any."""
        if self._file is not None:
            self._file.close()
