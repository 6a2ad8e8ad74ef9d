"""The wheel alone is enough: build it, install it into a fresh venv outside the checkout, load the
plugin through its entry point into the mock host, migrate a fresh database from the installed package,
and run ``dvflag conformance`` (the installed console script).

Slow (a venv and a dependency install; pip's cache is reused): ``pytest -m slow``. CI runs it.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
BUDGET_SECONDS = 180

pytestmark = pytest.mark.slow

CHECK_SCRIPT = r"""
import sys
from importlib import metadata, resources
from pathlib import Path

import sqlalchemy as sa

checkout = Path(sys.argv[1]).resolve()


def installed(path):
    path = Path(path).resolve()
    assert "site-packages" in path.parts, f"not in site-packages: {path}"
    assert checkout not in path.parents, f"taken from the checkout: {path}"
    return path


import dvflag_hookspecs
import dvflag_plugin

installed(dvflag_plugin.__file__)
installed(dvflag_hookspecs.__file__)
(ep,) = metadata.entry_points(group="aatena.plugins", name="dvflag")
assert ep.value == "dvflag_plugin.plugin", ep.value
assert ep.dist is not None and ep.dist.name.replace("_", "-") == "dvflag-plugin", ep.dist

packaged = resources.files("dvflag_plugin")
assert (packaged / "_migrations" / "env.py").is_file(), "migrations are not packaged"
assert (packaged / "_fixtures" / "dummy_small.json").is_file(), "the dummy data set is not packaged"

from dvflag_plugin.mockhost import MockHost
from dvflag_plugin.storage import migrate

db = Path("fresh.sqlite3").resolve()
assert not db.exists()
host = MockHost(f"sqlite:///{db}")  # entry points → migrations via aatena_migrations → startup
assert host.load_errors == [], host.load_errors
assert host.pm.get_plugin("dvflag") is ep.load()
(source,) = host.hooks.migrations()
location = installed(source.script_location)
assert (location / "env.py").is_file()
assert installed(migrate.script_location()) == location
tables = set(sa.inspect(host.engine).get_table_names())
assert {"dvf_alembic_version", "dvf_registration", "dvf_audit_event"} <= tables, tables
with host.engine.connect() as conn:
    assert migrate.current_revision(conn) == migrate.head_revision()

host.seed_users()
person = next(p for p in host.data.people if p.in_master)
host.call("dvflag.register", host.actor("u-kodomo-reg1"), address_no=person.address_no)
assert list(host.notices(host.actor("u-zeimu-view1"), [person.address_no])) == [person.address_no]
assert host.call("dvflag.audit", host.actor("u-kansa-audit1"), op="verify").ok
host.close()
print("installed-package check OK:", location)
"""


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{' '.join(cmd)} → {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def _clean_env() -> dict[str, str]:
    """The environment minus anything that would point Python back at the checkout or its venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def test_wheel_installs_migrates_and_conforms_outside_the_checkout(tmp_path: Path) -> None:
    started = time.perf_counter()
    timings: dict[str, float] = {}
    env = _clean_env()
    work = tmp_path / "elsewhere"
    work.mkdir()

    # 1. Build the wheel from the checkout (no isolation when hatchling is at hand: no download).
    dist = tmp_path / "dist"
    build = [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist)]
    if importlib.util.find_spec("hatchling") is not None:
        build.append("--no-isolation")
    _run([*build, str(CHECKOUT)], cwd=work, env=env)
    (wheel,) = dist.glob("dvflag_plugin-*.whl")
    timings["build"] = time.perf_counter() - started

    # 2. A fresh venv outside the checkout; dependencies come from the configured package index.
    t = time.perf_counter()
    venv_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    bindir = venv_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    _run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], cwd=work, env=env, timeout=600)
    timings["venv+install"] = time.perf_counter() - t
    assert CHECKOUT not in venv_dir.resolve().parents

    # 3. Entry point → mock host → fresh database migrated from the installed package alone.
    t = time.perf_counter()
    script = work / "check_installed.py"
    script.write_text(CHECK_SCRIPT, encoding="utf-8")
    result = _run([str(python), "-I", str(script), str(CHECKOUT)], cwd=work, env=env)
    assert "installed-package check OK" in result.stdout
    assert "site-packages" in result.stdout

    # 4. The installed console script runs the conformance suite against the mock host.
    env_conf = {**env, "PATH": f"{bindir}{os.pathsep}{env.get('PATH', '')}"}
    env_conf.pop("DVFLAG_CONFORMANCE_URL", None)
    conformance = _run([str(bindir / "dvflag"), "conformance", "--lang", "both"], cwd=work, env=env_conf)
    assert "→ 適合" in conformance.stdout
    assert "→ CONFORMS" in conformance.stdout
    assert "[FAIL]" not in conformance.stdout
    timings["checks"] = time.perf_counter() - t

    total = time.perf_counter() - started
    print(f"installed-package check: {total:.1f}s " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    assert total < BUDGET_SECONDS, f"the installed-package check took {total:.0f}s ({timings})"
