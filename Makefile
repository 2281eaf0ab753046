# Two commands for a newcomer: `make demo` and `make test`. Every target creates .venv when it is
# missing and installs the pinned dependencies (requirements.lock) plus this package in editable mode.
# GPU users: create .venv and install your CUDA/ROCm torch build into it first; it is kept (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint browser clean-venv pyc

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q $(TORCH_SPEC)
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e . || $(BIN)/python -m pip install -q --no-deps -e .
	@touch $@

# The package's bytecode, compiled ahead: an editable install is not compiled by pip, and where
# PYTHONDONTWRITEBYTECODE is set (CI images often set it) every command would compile the ~240
# modules it imports from source again (~0.1 s a process). Only stale files are rewritten.
pyc: $(STAMP)
	@$(BIN)/python -m compileall -q -j 0 src >/dev/null

demo: $(STAMP) pyc
	$(BIN)/futures-vpoc demo --output_dir runs/demo

test: $(STAMP) pyc browser
	$(BIN)/python -m pytest -n 2 --dist loadfile

# Headless Chromium for the browser tests (tests/browser.py). Nothing to do when one is on PATH
# (or $CHROMIUM names one); as root, Debian's `chromium` is installed; otherwise a hint is printed
# and the browser tests skip (they fail when CI is set).
browser:
	@if [ -n "$$CHROMIUM" ] || command -v chromium >/dev/null 2>&1 \
	  || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium (apt-get) for the browser tests"; \
	  { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
	    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
	    || echo "warning: installing chromium failed; the browser tests will not pass"; \
	else \
	  echo "note: headless Chromium not found; browser tests will skip (fail when CI is set). Install it: sudo apt-get install chromium"; \
	fi

bench: $(STAMP) pyc
	@$(BIN)/python -c "import market_profile" 2>/dev/null || $(BIN)/python -m pip install -q --no-deps MarketProfile==0.2.0
	$(BIN)/python benchmarks/run_all.py

lint: $(STAMP)
	$(BIN)/lint-imports

clean-venv:
	rm -rf $(VENV)
