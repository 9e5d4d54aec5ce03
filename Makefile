# `make run` re-executes the notebook in place; `make test` runs the unit tests and nbval.
# Both create .venv and install the pinned requirements on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
NOTEBOOK := notebooks/MNIST-NN.ipynb
# Quiet TensorFlow's C++ start-up chatter so logs and notebook outputs stay readable.
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: run test lint bench clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

run: $(VENV)/.installed
	$(PY) -m jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=1800 --ExecutePreprocessor.kernel_name=python3 $(NOTEBOOK)

test: $(VENV)/.installed
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(PY) -m ruff check mnist_ann tests
	$(PY) -m ruff format --check mnist_ann tests

bench: $(VENV)/.installed
	$(PY) -m mnist_ann bench --seeds 5 --augmented-seeds 3 --json benchmarks/results/cpu-2core.json

clean:
	rm -rf $(VENV) runs .pytest_cache
