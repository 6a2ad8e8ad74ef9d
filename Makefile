# Set-up is two commands: `make demo` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench sql clean fonts

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

demo: $(STAMP) fonts
	$(BIN)/dvflag demo --fresh

test: $(STAMP) fonts
	$(BIN)/ruff check src hookspecs tests bench fixtures migrations
	$(BIN)/mypy
	$(BIN)/python -m pytest

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
