# The two commands a newcomer needs:  make synth   and   make test
# Both install everything they need first (Python venv + the pinned CDK CLI).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHECKOV_VENV := .venv-checkov
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_DEPRECATED := quiet

.PHONY: install dist synth synth-pipeline lint test unit infra-test pipeline-test snapshot-update bench-frontend bench-synth bench-rollouts deploy-dev deploy-prod clean

install: $(VENV)/.installed $(CHECKOV_VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	# The project itself, editable, for the `safe-sagemaker` console script (deps pinned above).
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# checkov pins many libraries of its own (boto3, pydantic...): a venv apart, so that they never
# move the app's pins. make test runs it on every synthesized serving template.
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## The library as a wheel (dist/), the way a platform team installs it.
dist: install
	$(BIN)/pip wheel --no-deps --quiet --disable-pip-version-check -w dist .

## Synthesize every environment's stack (cdk-nag runs inside synth), then cfn-lint and checkov
## the templates.
synth: install
	npx --no-install cdk synth --quiet
	$(BIN)/cfn-lint cdk.out/*.template.json
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml $$(printf -- '-f %s ' cdk.out/*.template.json)

## The delivery pipeline from the example config (or your pipeline.json), then cfn-lint it and its stages.
PIPELINE_CONFIG ?= infra/environments/pipeline/pipeline.example.json
synth-pipeline: install
	npx --no-install cdk synth --quiet -c pipeline_config=$(PIPELINE_CONFIG)
	$(BIN)/cfn-lint cdk.out/PipelineStack.template.json cdk.out/assembly-PipelineStack-*/*.template.json

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy infra/safe_sagemaker app.py
	# Each function is its own import root (several have a handler.py), so check them one by one;
	# lambdas/ is a package of the wheel, so module names start at the roots mypy is given.
	for fn in lambdas/*/; do MYPYPATH=lambdas/deployment_hooks_common/python $(BIN)/mypy --explicit-package-bases "$$fn" || exit 1; done

## Lint, type-check and run every test (infra assertions, snapshots, Lambda unit, e2e, fuzz, load),
## on every core: each test file (each folder of tests/conftest.py's list) is one worker's unit.
TEST_WORKERS ?= auto
test: lint
	$(BIN)/pytest -n $(TEST_WORKERS)

unit: install
	$(BIN)/pytest tests/lambdas

infra-test: install
	$(BIN)/pytest tests/infra

pipeline-test: install
	$(BIN)/pytest tests/pipeline

snapshot-update: install
	$(BIN)/pytest tests/infra/test_snapshots.py tests/pipeline/test_pipeline_snapshot.py --snapshot-update

bench-frontend: install
	$(BIN)/python tests/benchmarks/bench_frontend.py

bench-synth: install
	$(BIN)/python tests/benchmarks/bench_synth.py

bench-rollouts: install
	$(BIN)/python tests/benchmarks/bench_rollouts.py

deploy-dev: synth
	npx --no-install cdk deploy DevStack

deploy-prod: synth
	npx --no-install cdk deploy ProdStack

clean:
	rm -rf cdk.out dist .pytest_cache .mypy_cache .ruff_cache
