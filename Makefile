# readpoint: the two commands are `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
DATA ?= $(if $(READPOINT_DATA),$(READPOINT_DATA),./var)
PORT ?= 8080
BIN := $(VENV)/bin

.PHONY: run test install install-test system-deps system-deps-test bench translations-extract translations-update translations-compile clean

run: install
	$(BIN)/readpoint serve --data "$(DATA)" --host 0.0.0.0 --port $(PORT)

test: install-test system-deps-test
	$(BIN)/python -m pytest

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

$(VENV)/.installed: setup.cfg setup.py pyproject.toml | system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel babel
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Debian packages: what a fresh Debian / Raspberry Pi OS lacks (installed only when missing).
system-deps:
	@sh provisioning/dev-deps.sh run

system-deps-test:
	@sh provisioning/dev-deps.sh test

bench: install-test
	$(BIN)/python bench/serve.py

translations-extract: install
	$(BIN)/pybabel extract -F babel.cfg -o kiosk-ui/translations/messages.pot .

translations-update: translations-extract
	$(BIN)/pybabel update -i kiosk-ui/translations/messages.pot -d kiosk-ui/translations

# Compiling also happens at every install (setup.py); this is for a quick look without reinstalling.
translations-compile: install
	$(BIN)/pybabel compile -d kiosk-ui/translations

clean:
	rm -rf $(VENV) build dist *.egg-info
