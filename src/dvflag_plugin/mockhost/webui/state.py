"""What the reference UI keeps beside the mock host: its own disclosure flags and produced files."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

from dvflag_hookspecs import ExportResult

from ..host import MockHost


@dataclass
class UiState:
    """Per-app state (never global): the host, the host's own flags, files waiting for download."""

    host: MockHost
    cleared_flags: set[tuple[str, str]] = field(default_factory=set)
    """(address_no, dept_code) whose 自動応答不可/不開示該当 flags the host has cleared."""
    downloads: dict[str, tuple[str, ExportResult]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def keep_file(self, user_id: str, result: ExportResult) -> str:
        """Keep a produced file for its requester; returns the download token."""
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.downloads[token] = (user_id, result)
        return token

    def file_for(self, token: str, user_id: str) -> ExportResult | None:
        """The file behind ``token`` when ``user_id`` produced it."""
        with self.lock:
            found = self.downloads.get(token)
        return found[1] if found is not None and found[0] == user_id else None
