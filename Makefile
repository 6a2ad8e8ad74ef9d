# Set-up is two commands: `make demo` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench sql clean fonts fuzz

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# IPAmj明朝 (文字情報基盤 MJ font, Debian fonts-ipamj-mincho) for PDF lists: every character of the
# dummy data, 𠮷 included. As root it is installed with apt; otherwise the .deb is unpacked into .venv.
IPAMJ := share/fonts/truetype/ipamj/ipamjm.ttf
fonts: $(STAMP)
	@test -f /usr/$(IPAMJ) || test -f $(VENV)/$(IPAMJ) || \
	if [ "$$(id -u)" = 0 ]; then \
	  (apt-get install -y -qq --no-install-recommends fonts-ipamj-mincho >/dev/null 2>&1 || \
	   (apt-get update -qq && apt-get install -y -qq --no-install-recommends fonts-ipamj-mincho >/dev/null)); \
	else \
	  d=$$(mktemp -d) && (cd $$d && apt-get download fonts-ipamj-mincho) && \
	  dpkg-deb -x $$d/fonts-ipamj-mincho_*.deb $$d/x && mkdir -p $(VENV)/share/fonts/truetype/ipamj && \
	  cp $$d/x/usr/$(IPAMJ) $(VENV)/$(IPAMJ) && rm -rf $$d; \
	fi

demo: $(STAMP) fonts
	$(BIN)/dvflag demo

test: $(STAMP) fonts
	$(BIN)/ruff check src hookspecs tests bench fixtures migrations
	$(BIN)/mypy
	$(BIN)/python -m pytest

# Issue 8: more generated sequences and seam junk than `make test`, at random, on every backend.
FUZZ_EXAMPLES ?= 1000
fuzz: $(STAMP)
	DVFLAG_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) DVFLAG_REQUIRE_SERVERS=1 $(BIN)/python -m pytest tests/model -q

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
