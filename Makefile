# `make demo` and `make test` each create .venv when missing and install what they need, then run.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_OUT ?= demo_out

# torch goes in first and explicitly: a bare `torch` requirement can pull a multi-GB CUDA build.
ifeq ($(shell uname -m),aarch64)
TORCH := torch==2.9.1 torchvision==0.24.1
else
TORCH := torch==2.14.1 torchvision==0.29.1
endif

.PHONY: install demo test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.torch: | $(BIN)/python
	$(BIN)/pip install $(TORCH)
	touch $@

$(VENV)/.installed: pyproject.toml constraints.txt $(VENV)/.torch
	DS_BUILD_OPS=0 $(BIN)/pip install -c constraints.txt -e '.[all]'
	touch $@

install: $(VENV)/.installed

demo: install
	@rm -rf $(DEMO_OUT) && mkdir -p $(DEMO_OUT)
	$(BIN)/gui-agent-rl --help
	$(BIN)/gui-agent-rl schema > $(DEMO_OUT)/action.schema.json
	$(BIN)/gui-agent-rl schema --think > $(DEMO_OUT)/think.schema.json
	@echo "demo: JSON Schemas written to $(DEMO_OUT)/"

test: install lint
	$(BIN)/pytest -n 2 --durations=15

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .ruff_cache .hypothesis
