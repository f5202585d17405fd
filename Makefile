# Two entry points do all the setup: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WAREHOUSE ?= warehouse/demo
# Workers must import from this venv, not whatever python3 is first on PATH.
export PYSPARK_PYTHON := $(abspath $(BIN)/python)
export PYSPARK_DRIVER_PYTHON := $(abspath $(BIN)/python)

DIST_ENV := build/dist-env
AIRFLOW_VENV := .venv-airflow

.PHONY: demo test test-fast bench check-java clean dist

check-java:
	@v=$$(java -version 2>&1 | awk -F'"' '/version/ {print $$2; exit}'); \
	major=$$(echo "$$v" | awk -F. '{ if ($$1 == "1") print $$2; else print $$1 }'); \
	if [ -z "$$v" ]; then \
	  echo "leakwatch needs Java 17 or newer for Spark, and no 'java' was found on PATH."; \
	  echo "Install it, e.g. 'sudo apt-get install openjdk-17-jre-headless' (Debian/Ubuntu),"; \
	  echo "'brew install openjdk@17' (macOS), or set JAVA_HOME and put \$$JAVA_HOME/bin on PATH."; \
	  exit 1; \
	elif [ "$$major" -lt 17 ]; then \
	  echo "leakwatch needs Java 17 or newer for Spark; found Java $$v."; \
	  echo "Install it, e.g. 'sudo apt-get install openjdk-17-jre-headless', and put it first on PATH."; \
	  exit 1; \
	fi

$(STAMP): pyproject.toml constraints.txt requirements-nodeps.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The editable install maps leakwatch.* onto the folders here with a meta path finder; setuptools says
	# so in a notice ("Editable installation"), which is all it would print.
	PYTHONWARNINGS="ignore:Editable installation:UserWarning" \
	  $(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

demo: check-java $(STAMP)
	$(BIN)/leakwatch demo --out $(WAREHOUSE)

# Everything; the packaging tests build the dist archive and the Airflow venv when they run (tests/deploy).
test: check-java $(STAMP)
	$(BIN)/ruff check leakwatch jobs udfs schemas tests benchmarks deploy
	$(BIN)/python -m pytest -q -ra

# The linter and the tests that start no JVM and build nothing: no Java needed, about a minute.
test-fast: $(STAMP)
	$(BIN)/ruff check leakwatch jobs udfs schemas tests benchmarks deploy
	$(BIN)/python -m pytest -q -ra -m "not spark and not packaging"

# The wheel, and a relocatable environment for spark-submit --archives (venv-pack): the project, its
# dependencies and its models. Without pyspark: Spark puts its own pyspark on the workers' path.
# The archive runs where the same Python is at the same path (same image or OS build); see README.
dist: dist/leakwatch-env.tar.gz

# Rebuilt when the code, models or pins change: the cluster test's executors run the archive's code.
# build/ goes too: setuptools reuses build/lib, so a module deleted since would ship again.
dist/leakwatch-env.tar.gz: $(STAMP) deploy/driver.py $(shell find leakwatch jobs udfs schemas models -type f -not -name '*.pyc')
	rm -rf build dist
	$(BIN)/python -m pip wheel --quiet --no-deps -w dist .
	$(PYTHON) -m venv $(DIST_ENV)
	$(DIST_ENV)/bin/python -m pip install --quiet --upgrade pip
	$(BIN)/python -c 'import tomllib; deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]; \
	  print("\n".join(d for d in deps if not d.startswith("pyspark")))' > build/env-requirements.txt
	$(DIST_ENV)/bin/python -m pip install --quiet -c constraints.txt -r build/env-requirements.txt
	$(DIST_ENV)/bin/python -m pip install --quiet --no-deps dist/leakwatch-*.whl -r requirements-nodeps.txt
	# One namespace: leakwatch imports from the fresh env; the folders it maps are no top-level packages.
	$(DIST_ENV)/bin/python -I -c 'import leakwatch.cli, leakwatch.udfs.ingest, leakwatch.models'
	! $(DIST_ENV)/bin/python -I -c 'import jobs' 2>/dev/null
	$(BIN)/venv-pack --quiet -p $(DIST_ENV) -o dist/leakwatch-env.tar.gz
	cp deploy/driver.py dist/driver.py
	# The archive holds the environment now: its 670 MB source and setuptools' build tree go.
	rm -rf build

# Airflow (to import the DAG in tests) lives in its own venv: it pulls pandas 3 and pyspark-client.
$(AIRFLOW_VENV)/.installed: deploy/airflow/requirements.txt
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet -r deploy/airflow/requirements.txt
	touch $@

# The benchmarks' baselines beside the project: trafilatura (the `bench` extra), installed on first use.
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP)
	PYTHONWARNINGS="ignore:Editable installation:UserWarning" \
	  $(BIN)/python -m pip install --quiet -c constraints.txt -e '.[bench]'
	touch $@

bench: check-java $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) $(AIRFLOW_VENV) warehouse .cache .pytest_cache build dist
