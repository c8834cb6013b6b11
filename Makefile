# Passerelle — two commands do all the set-up on a fresh machine:
#   make run    chat with the assistant (Telegram with TELEGRAM_TOKEN, else in this terminal)
#   make test   install everything, train if needed, run all the tests
SHELL := /bin/bash
.DEFAULT_GOAL := help

find_python = $(shell for p in python$(1) $$(ls -d $$HOME/.pyenv/versions/$(1).*/bin/python$(1) 2>/dev/null) \
	/usr/bin/python$(1) /usr/local/bin/python$(1); do \
	"$$p" -c 'import sys; sys.exit(sys.version_info[:2] != tuple(map(int, "$(1)".split("."))))' 2>/dev/null \
	&& { echo "$$p"; break; }; done)
PYTHON_APP ?= $(call find_python,3.11)
PYTHON_RASA ?= $(call find_python,3.10)
VENV := .venv
RASA_VENV := .venv-rasa
PASSERELLE := $(VENV)/bin/passerelle

.PHONY: help setup run serve train test lint eval bench clean

help:
	@echo "make run    start the assistant (console chat when TELEGRAM_TOKEN is unset)"
	@echo "make test   set up, train if needed, run the tests (SQLite and PostgreSQL)"
	@echo "make serve  start only the Rasa server and the action server"
	@echo "make train  train the Rasa model if its inputs changed"
	@echo "make eval   evaluate the model on the held-out split, write nlu/eval/report.md"
	@echo "make bench  measure set-up, training, start-up, message latency and the places search"

$(VENV)/.installed: requirements.lock pyproject.toml
	@test -n "$(PYTHON_APP)" || { echo "Python 3.11 not found: install it or set PYTHON_APP=/path/to/python3.11" >&2; exit 1; }
	$(PYTHON_APP) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip==24.2
	$(VENV)/bin/pip install --quiet -r requirements.lock
	$(VENV)/bin/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(RASA_VENV)/.installed: nlu/requirements.lock
	@test -n "$(PYTHON_RASA)" || { echo "Python 3.10 not found (Rasa 3.6 needs it): install it or set PYTHON_RASA=/path/to/python3.10" >&2; exit 1; }
	$(PYTHON_RASA) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install --quiet --upgrade pip==24.2
	$(RASA_VENV)/bin/pip install --quiet -r nlu/requirements.lock
	RASA_TELEMETRY_ENABLED=false $(RASA_VENV)/bin/rasa telemetry disable >/dev/null 2>&1 || true
	touch $@

setup: $(VENV)/.installed $(RASA_VENV)/.installed

train: setup
	$(PASSERELLE) nlu train

run: train
	$(PASSERELLE) run

serve: train
	$(PASSERELLE) serve

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: train lint
	bash scripts/ensure-services.sh
	$(VENV)/bin/python -m pytest

eval: train
	$(PASSERELLE) eval
	$(VENV)/bin/python bench/safety.py

bench: train
	$(VENV)/bin/python bench/pipeline.py
	$(VENV)/bin/python bench/places.py

clean:
	rm -rf $(VENV) $(RASA_VENV) nlu/models var
