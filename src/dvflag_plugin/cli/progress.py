"""Progress of long work (audit verify, large batches, number generation) on stderr, for people only.

A bar appears when stderr is a terminal; in a pipe, a log or a test the output stays quiet, so scripts
and cron mails see only the result.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO, TypeVar

import click

T = TypeVar("T")


def _stderr(stream: TextIO | None) -> TextIO:
    return stream if stream is not None else sys.stderr


def wanted(stream: TextIO | None = None) -> bool:
    """True when progress should be shown: stderr is a terminal."""
    try:
        return _stderr(stream).isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


@contextmanager
def progress(length: int, label: str, *, stream: TextIO | None = None) -> Iterator[Callable[[int], None]]:
    """``advance(n)`` for ``length`` steps: a bar on a terminal, nothing otherwise."""
    out = _stderr(stream)
    if length <= 0 or not wanted(out):
        yield lambda n: None
        return
    with click.progressbar(length=length, label=label, file=out, update_min_steps=1000) as bar:
        yield bar.update


def track(items: Iterable[T], length: int, label: str, *, stream: TextIO | None = None) -> Iterator[T]:
    """Yield ``items`` while advancing a bar of ``length`` steps."""
    with progress(length, label, stream=stream) as advance:
        for item in items:
            yield item
            advance(1)


@contextmanager
def counter(label: str, *, stream: TextIO | None = None) -> Iterator[Callable[[int], None]]:
    """``advance(n)`` for work of unknown size: ``label: N`` redrawn every 1,000 steps on a terminal."""
    out = _stderr(stream)
    if not wanted(out):
        yield lambda n: None
        return
    done = [0]

    def advance(n: int) -> None:
        before, done[0] = done[0], done[0] + n
        if done[0] // 1000 != before // 1000:
            click.echo(f"\r{label}: {done[0]:,}", file=out, nl=False)

    yield advance
    click.echo(f"\r{label}: {done[0]:,}", file=out)


def note(text: str, *, stream: TextIO | None = None) -> None:
    """A one-line status for work without a count (e.g. an export being produced), terminal only."""
    out = _stderr(stream)
    if wanted(out):
        click.echo(text, file=out)
