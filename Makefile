# Two commands for a newcomer: `make demo` and `make test`. Every target creates .venv when it is
# missing and installs the pinned dependencies (requirements.lock) plus this package in editable mode.
# GPU users: create .venv and install your CUDA/ROCm torch build into it first; it is kept (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean-venv

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q $(TORCH_SPEC)
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e . || $(BIN)/python -m pip install -q --no-deps -e .
	@touch $@

demo: $(STAMP)
	$(BIN)/futures-vpoc demo --output_dir runs/demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

lint: $(STAMP)
	$(BIN)/lint-imports

clean-venv:
	rm -rf $(VENV)
