# citywatch — every target creates or updates .venv by itself, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test check bench fuzz fmt clean bytecode

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,ml]'
	touch $@

# Where the environment sets PYTHONDONTWRITEBYTECODE (CI machines do), no command writes the
# bytecode of the editable source tree, and every process would compile all of it again (about
# half a second of CPU). Compile it ahead; compileall redoes only what changed.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q src

demo: $(STAMP) bytecode
	$(BIN)/citywatch demo

# The dashboard's browser tests drive Debian's chromium through Playwright (never a downloaded browser).
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	@{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
	  >/dev/null 2>&1 || echo "test: could not install Debian's chromium; the browser tests will fail"

# The block lists' nftables rulesets are checked by nft itself (`nft -c`, no privilege needed).
NFT := /usr/sbin/nft

$(NFT):
	@{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables; } \
	  >/dev/null 2>&1 || echo "test: could not install Debian's nftables; its ruleset check is skipped"

test: $(STAMP) bytecode | $(CHROMIUM) $(NFT)
	$(BIN)/python -m pytest -q

check: $(STAMP)
	$(BIN)/ruff format --check src tests fuzz
	$(BIN)/ruff check src tests fuzz
	$(BIN)/mypy

# The portal benchmark's peers: ModSecurity v3 + OWASP CRS, libinjection. A peer that cannot be
# installed here is reported as unavailable by the benchmark, so these steps never fail the target.
BENCH_STAMP := $(VENV)/.installed-bench
CRS_RULES   := /usr/share/modsecurity-crs/rules

$(BENCH_STAMP): pyproject.toml | $(STAMP)
	@$(BIN)/python -m pip install --quiet -e '.[dev,ml,bench]' && touch $@ \
	  || echo "bench: the peers' Python packages did not install; the portal benchmark says so"

bench: $(STAMP) $(BENCH_STAMP) bytecode
	@test -d $(CRS_RULES) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -qq modsecurity-crs; } >/dev/null 2>&1 \
	  || echo "bench: could not install Debian's modsecurity-crs; the portal benchmark says so"
	$(BIN)/python -m citywatch.bench

# Coverage-guided fuzzing (atheris), FUZZ_SECONDS each: the learned portal detectors on odd
# requests; every adapter on any bytes, and every detector on the events it makes of them.
# A failure stops its harness and keeps the input in fuzz/crashes/. The pipeline harness grows
# to about 2 GB within minutes (the fuzzing runtime and the allocator; see fuzz/pipeline.py).
FUZZ_STAMP   := $(VENV)/.installed-fuzz
FUZZ_SECONDS ?= 300

$(FUZZ_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,ml,fuzz]'
	touch $@

fuzz: $(STAMP) $(FUZZ_STAMP) bytecode
	@mkdir -p fuzz/crashes
	$(BIN)/python fuzz/portal.py -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=fuzz/crashes/
	$(BIN)/python fuzz/pipeline.py -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=fuzz/crashes/ \
	  -rss_limit_mb=6144

fmt: $(STAMP)
	$(BIN)/ruff format src tests fuzz
	$(BIN)/ruff check --fix src tests fuzz

clean:
	rm -rf $(VENV) citywatch-data bench/results .pytest_cache .mypy_cache .ruff_cache
