"""Optional progress of long service work (rows of an export), reported to whoever asked for it.

A caller such as the CLI sets a sink for its own context with ``reporting``; without one, ``counted``
passes items through untouched. A ContextVar keeps two hosts or threads from seeing each other's sink.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_sink: ContextVar[Callable[[int], None] | None] = ContextVar("dvflag_progress_sink", default=None)


@contextmanager
def reporting(advance: Callable[[int], None]) -> Iterator[None]:
    """Within this block, ``counted`` calls ``advance(1)`` per item."""
    token = _sink.set(advance)
    try:
        yield
    finally:
        _sink.reset(token)


def counted(items: Iterable[T]) -> Iterator[T]:
    """``items`` unchanged, advancing the sink (if any) once per item."""
    advance = _sink.get()
    if advance is None:
        yield from items
        return
    for item in items:
        yield item
        advance(1)
