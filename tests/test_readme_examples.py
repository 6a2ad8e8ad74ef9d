"""The README's host example runs exactly as printed (issue 10, item 17)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from dvflag_hookspecs import FUNCTION_IDS, HostFunction
from dvflag_plugin.dummydata.loader import load_small
from dvflag_plugin.mockhost import DummyMasters
from dvflag_plugin.plugin import service_of
from dvflag_plugin.storage import migrate

README = Path(__file__).resolve().parents[1] / "README.md"


def host_example() -> str:
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- host-example:begin -->", 1)[1].split("<!-- host-example:end -->", 1)[0]
    return block.strip().removeprefix("```python").removesuffix("```")


def test_readme_host_example_runs_as_printed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'host.sqlite3'}"
    namespace: dict[str, object] = {"MyMasters": lambda: DummyMasters(load_small()), "DATABASE_URL": url}
    exec(compile(host_example(), str(README), "exec"), namespace)  # noqa: S102 - our own README, as printed
    engine = namespace["engine"]
    assert isinstance(engine, sa.Engine)
    try:
        with engine.connect() as conn:  # the migrations really ran, into the plugin's own version table
            assert migrate.current_revision(conn) == migrate.head_revision()
        assert namespace["cautions"] == {}  # nothing registered yet: no caution for anyone
        functions = namespace["functions"]
        assert isinstance(functions, dict) and set(functions) == set(FUNCTION_IDS)
        assert all(isinstance(f, HostFunction) for f in functions.values())
        service_of(namespace["pm"]).runtime.close()  # type: ignore[arg-type]
    finally:
        engine.dispose()
