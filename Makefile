# Every target makes its own virtual environment when missing, so a fresh clone needs only python3.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test soak lint type docs bench clean browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# Installs before December 2026 brought rfc3987-syntax; nothing needs it, and its import costs 1.5 s.
	$(BIN)/python -m pip uninstall --quiet --yes rfc3987-syntax 2>/dev/null || true
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/r360-webhooks demo

# Debian's chromium and chromium-driver for the dashboard's browser test, when missing.
browser:
	./scripts/install-browser.sh

# Four workers on two cores: the suite mostly waits (sockets, servers, retry schedules).
test: $(STAMP) browser
	$(BIN)/python -m pytest -n 4
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The long fault soak: 10,000 events through the sender (both engines) and the server.
soak: $(STAMP)
	R360_SOAK_EVENTS=10000 $(BIN)/python -m pytest -m soak -s

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

type: $(STAMP)
	$(BIN)/mypy

docs: $(STAMP)
	$(BIN)/r360-webhooks schema --markdown > docs/reference.md

# Writes the README's table from this run; exits 1 when a target misses. Bytecode is compiled
# first, as a regular install does (an editable one under PYTHONDONTWRITEBYTECODE never is), so
# the CLI rows time the commands as users run them.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m compileall -q contracts mockserver
	$(BIN)/python bench/run.py --readme

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
