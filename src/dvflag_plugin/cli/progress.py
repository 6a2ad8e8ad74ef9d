"""Progress of long work (audit verify, large batches, number generation) on stderr, for people only.

A bar appears when stderr is a terminal; in a pipe, a log or a test the output stays quiet, so scripts
and cron mails see only the result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any, TypeVar

import click

T = TypeVar("T")


def _stderr(stream: IO[Any] | None) -> IO[Any]:
    return stream if stream is not None else click.get_text_stream("stderr")


def wanted(stream: IO[Any] | None = None) -> bool:
    """True when progress should be shown: stderr is a terminal."""
    out = _stderr(stream)
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty())


@contextmanager
def progress(length: int, label: str, *, stream: IO[Any] | None = None) -> Iterator[Callable[[int], None]]:
    """``advance(n)`` for ``length`` steps: a bar on a terminal, nothing otherwise."""
    out = _stderr(stream)
    if length <= 0 or not wanted(out):
        yield lambda n: None
        return
    with click.progressbar(length=length, label=label, file=out) as bar:
        pending = [0]

        def advance(n: int) -> None:  # the bar redraws at most once per 1,000 steps
            pending[0] += n
            if pending[0] >= 1000:
                bar.update(pending[0])
                pending[0] = 0

        yield advance
        bar.update(pending[0])


def track(items: Iterable[T], length: int, label: str, *, stream: IO[Any] | None = None) -> Iterator[T]:
    """Yield ``items`` while advancing a bar of ``length`` steps."""
    with progress(length, label, stream=stream) as advance:
        for item in items:
            yield item
            advance(1)


def note(text: str, *, stream: IO[Any] | None = None) -> None:
    """A one-line status for work without a count (e.g. an export being produced), terminal only."""
    out = _stderr(stream)
    if wanted(out):
        click.echo(text, file=out)
