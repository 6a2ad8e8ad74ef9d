"""Conformance suite: checks a host adapter against the aatena ↔ dvflag contract (DESIGN §4).

``run(factory)`` builds the integrator's host with ``factory`` (no arguments → ``HostUnderTest``),
runs every named check and returns a ``Report`` (``render("ja" | "en" | "both")``, ``exit_code``).
From the shell: ``dvflag conformance --host MODULE:FACTORY``. From pytest:
``run(factory).assert_passed()``.
"""

from __future__ import annotations

from .host import HostFactory, HostUnderTest
from .report import CheckResult, Report, Text
from .suite import CHECK_IDS, CHECKS, run

__all__ = ["CHECKS", "CHECK_IDS", "CheckResult", "HostFactory", "HostUnderTest", "Report", "Text", "run"]
