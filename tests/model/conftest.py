"""Hypothesis keeps its caches (constants, unicode tables) in a temporary folder: the suite writes nothing
into the checkout (no ``.hypothesis/``), and examples come from derandomised runs, not a saved database."""

from __future__ import annotations

import atexit
import shutil
import tempfile

from hypothesis.configuration import set_hypothesis_home_dir

_HOME = tempfile.mkdtemp(prefix="dvflag-hypothesis-")
set_hypothesis_home_dir(_HOME)
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
