VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test fuzz bench lint clean plugins

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# Plugins built from source: lyrics-tri's C as a native library (gcc) and a wasm module (clang + wasm-ld, from
# Debian's clang and lld). A missing compiler skips that build; the engine then falls back to the next one.
TRI := plugins_lua/lyrics-tri
# The npm libraries MusicFree plugins require (engine/runtimes/compat/npm/package-lock.json), bundled by esbuild
# into engine/runtimes/compat/bundles/ (build output, not in git); rebuilt when the lockfile or build script changes.
NPM_DIR := engine/runtimes/compat/npm
BUNDLES := engine/runtimes/compat/bundles/.built
$(BUNDLES): $(NPM_DIR)/package-lock.json $(NPM_DIR)/build.mjs $(NPM_DIR)/htmlparser2-adapter.cjs
	@if command -v npm >/dev/null; then \
	  cd $(NPM_DIR) && npm ci --no-audit --no-fund --loglevel=error >/dev/null && node build.mjs >/dev/null && touch ../bundles/.built; \
	else echo "npm not found (apt-get install nodejs npm): MusicFree/LX plugin libraries not built"; fi

plugins: $(BUNDLES)
	@if command -v $${CC:-gcc} >/dev/null; then $(MAKE) -s -C $(TRI) native; \
	else echo "no C compiler: $(TRI) native build skipped"; fi
	@if command -v clang >/dev/null && command -v wasm-ld >/dev/null; then $(MAKE) -s -C $(TRI) wasm; \
	else echo "clang/wasm-ld not found (apt-get install clang lld): $(TRI) wasm build skipped"; fi

run: $(STAMP) plugins
	$(VENV)/bin/foxplug run

test: $(STAMP) plugins
	$(VENV)/bin/ruff check engine script_api tests benchmarks
	$(VENV)/bin/ruff format --check engine script_api tests benchmarks
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -n 2

# The fuzz suites with thousands of examples each (`make test` runs a few seconds of them).
fuzz: $(STAMP)
	FOXPLUG_FUZZ=1 $(PY) -m pytest -q -n 2 --timeout 1800 tests/fuzz

bench: $(STAMP) plugins
	$(PY) -m benchmarks

lint: $(STAMP)
	$(VENV)/bin/ruff check --fix engine script_api tests benchmarks
	$(VENV)/bin/ruff format engine script_api tests benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info $(dir $(BUNDLES)) $(NPM_DIR)/node_modules
	$(MAKE) -s -C $(TRI) clean
