# docgen: `make demo` sets everything up and builds the examples; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DEMO_OUT ?= examples/output
DEMO_MONTH ?= 2026-11

.PHONY: setup system venv demo test fonts clean

setup: system venv fonts

system:
	PYTHON=$(PYTHON) bash scripts/setup-system.sh

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

fonts: venv system
	$(BIN)/docgen fonts --prepare

demo: setup
	$(BIN)/docgen validate --workspace examples
	$(BIN)/docgen build --workspace examples --out $(DEMO_OUT) --month $(DEMO_MONTH)
	$(BIN)/docgen signage --workspace examples --out $(DEMO_OUT)
	@echo "示例文书在 $(DEMO_OUT)/，清单见 $(DEMO_OUT)/manifest.json"

test: setup
	$(BIN)/python -m pytest -n 2 -q

clean:
	rm -rf $(VENV) examples/output examples/data examples/archive
