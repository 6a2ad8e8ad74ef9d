"""``dvflag conformance``: run the contract checks against a host factory and print the report."""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from typing import cast

import click

from .host import HostFactory, HostUnderTest
from .suite import run

DEFAULT_HOST = "dvflag_plugin.conformance.mock:factory"


def load_factory(spec: str) -> HostFactory:
    """The callable named by ``MODULE:FACTORY`` (the current directory is importable too)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise click.BadParameter(
            "MODULE:FACTORY の形式で指定してください / expected MODULE:FACTORY", param_hint="--host"
        )
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    try:
        target: object = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as err:
        raise click.BadParameter(f"{spec}: {type(err).__name__}: {err}", param_hint="--host") from err
    if not callable(target):
        raise click.BadParameter(
            f"{spec} は呼び出し可能ではありません / is not callable. {FACTORY_HINT}", param_hint="--host"
        )
    _require_factory(spec, target)
    return cast(HostFactory, target)


FACTORY_HINT = (
    "引数なしで HostUnderTest を返す関数を指定してください（docs/integrators.md） / "
    "name a function that takes no arguments and returns a HostUnderTest (docs/integrators.md)"
)


def _require_factory(spec: str, target: object) -> None:
    """A factory is a function callable without arguments; a class or a function needing arguments is not."""
    if isinstance(target, type) and not issubclass(target, HostUnderTest):
        raise click.BadParameter(
            f"{spec} はクラスでありファクトリではありません / is a class, not a factory. {FACTORY_HINT}",
            param_hint="--host",
        )
    try:
        inspect.signature(target).bind()  # type: ignore[arg-type]
    except TypeError as err:
        raise click.BadParameter(
            f"{spec} は引数なしで呼び出せません / cannot be called without arguments ({err}). {FACTORY_HINT}",
            param_hint="--host",
        ) from err
    except ValueError:  # no signature available (some builtins): let the factory check decide
        return


@click.command(name="conformance")
@click.option(
    "--host",
    "host_spec",
    default=DEFAULT_HOST,
    show_default=True,
    metavar="MODULE:FACTORY",
    help="ホストを構築するファクトリ / the factory that builds the host under test",
)
@click.option(
    "--lang",
    type=click.Choice(["ja", "en", "both"]),
    default="both",
    show_default=True,
    help="報告の言語 / language of the report",
)
def conformance_command(host_spec: str, lang: str) -> None:
    """ホストアダプタの適合性試験 / check a host adapter against the aatena–dvflag contract.

    Exit code 0 only when every check passes.
    """
    factory = load_factory(host_spec)
    report = run(factory, name=host_spec)
    click.echo(report.render(lang), nl=False)
    sys.exit(report.exit_code)
