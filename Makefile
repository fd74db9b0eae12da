# ganforge: `make demo` trains the default recipe for ~3 minutes; `make test` runs the suite.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
DEMO_MINUTES ?= 3

.PHONY: setup data demo test lint format clean

setup: $(VENV)/.ganforge-installed

$(VENV)/.ganforge-installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@# A CUDA torch already importable in the venv is kept; otherwise the CPU wheel.
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q torch==2.13.0
	@$(PY) -m pip install -q -e ".[data,dev,tensorboard,export]"
	@touch $@

data: setup
	@bash scripts/install_data.sh $(PY)

demo: setup data
	@$(PY) -m ganforge train --minutes $(DEMO_MINUTES) --out runs/demo --force

test: setup data
	@$(PY) -m pytest

lint: setup
	@$(VENV)/bin/ruff check src tests benchmarks scripts
	@$(VENV)/bin/ruff format --check src tests benchmarks scripts

format: setup
	@$(VENV)/bin/ruff format src tests benchmarks scripts
	@$(VENV)/bin/ruff check --fix src tests benchmarks scripts

clean:
	rm -rf $(VENV) build *.egg-info
