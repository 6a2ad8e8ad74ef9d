# Set-up is two commands: `make demo` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench sql clean fonts browser serve fuzz

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# IPAmj明朝 (文字情報基盤 MJ font, Debian fonts-ipamj-mincho) for PDF lists: every character of the
# dummy data, 𠮷 included. Skipped when $$DVFLAG_PDF_FONT is set or the font is installed; otherwise
# installed with apt as root, or unpacked from the .deb into .venv (tools/ensure-font.sh).
fonts: $(STAMP)
	@sh tools/ensure-font.sh $(VENV)

# Debian's chromium and fonts-noto-cjk for the browser tests of the reference UI (no browser download by Playwright itself: this network refuses it).
browser:
	@test -x /usr/bin/chromium && fc-list 2>/dev/null | grep -q "Noto Sans CJK" || \
	if [ "$$(id -u)" = 0 ]; then \
	  (apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null 2>&1 || \
	   (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null)); \
	else \
	  echo "SKIP: chromium / fonts-noto-cjk missing and not root: browser tests will be skipped (apt-get install chromium fonts-noto-cjk)"; \
	fi

serve: $(STAMP)
	$(BIN)/dvflag mockhost serve $(if $(PORT),--port $(PORT))

demo: $(STAMP) fonts
	$(BIN)/dvflag demo --fresh

test: $(STAMP) fonts browser
	$(BIN)/ruff check src hookspecs tests bench fixtures migrations
	$(BIN)/mypy
	$(BIN)/python -m pytest

# More than `make test` runs: generated policy sequences and seam junk at random on every backend
# (issue 8; FUZZ_EXAMPLES, default 1000, roughly half an hour), then more SIGKILL crash rounds and
# sealer races (issue 11; DVFLAG_CRASH_KILLS, default 100).
FUZZ_EXAMPLES ?= 1000
fuzz: $(STAMP)
	DVFLAG_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) DVFLAG_REQUIRE_SERVERS=1 $(BIN)/python -m pytest tests/model -q
	DVFLAG_CRASH_KILLS=$${DVFLAG_CRASH_KILLS:-100} DVFLAG_REQUIRE_SERVERS=1 $(BIN)/python -m pytest -q tests/test_crash.py tests/test_audit_queue.py

lint: $(STAMP)
	$(BIN)/ruff check src hookspecs tests bench fixtures migrations

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/bench_notices.py

sql: $(STAMP)
	$(BIN)/dvflag db sql --dialect oracle

clean:
	rm -rf $(VENV) var dist build
