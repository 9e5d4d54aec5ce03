# `make run` re-executes the notebook in place and regenerates images/; `make test` runs the unit tests and nbval,
# and changes no tracked file. Both create .venv and install the locked environment (requirements.lock) on first
# use. `make lock` refreshes the lock from requirements.txt, the short list of what the project uses.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
NOTEBOOK := notebooks/MNIST-NN.ipynb
# Quiet TensorFlow's C++ start-up chatter so logs and notebook outputs stay readable (0 shows everything).
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: run test lint lock bench engine experiments variant clean

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

# Every package, transitive ones included, pinned for Python 3.11 by pip-tools; commit the result.
lock: $(VENV)/.installed
	$(PY) -m piptools compile --quiet --strip-extras --no-header --allow-unsafe --no-emit-index-url \
		--no-emit-find-links --output-file requirements.lock requirements.txt

# No per-cell timestamps (they churn every diff); the figures go to images/ for the README; then the hygiene check.
run: $(VENV)/.installed
	MNIST_ANN_FIGURES_DIR=$(CURDIR)/images $(PY) -m jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=1800 --ExecutePreprocessor.kernel_name=python3 \
		--ExecutePreprocessor.record_timing=False $(NOTEBOOK)
	$(PY) -m pytest -q tests/test_notebook_hygiene.py

test: $(VENV)/.installed
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(PY) -m ruff check mnist_ann benchmarks tests conftest.py
	$(PY) -m ruff format --check mnist_ann benchmarks tests conftest.py notebooks
	$(PY) -m check_jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

# The benchmark; its results then fill the README's and docs/benchmark.md's tables (benchmarks/publish.py).
bench: $(VENV)/.installed
	$(PY) benchmarks/bench.py --seeds 5 --augmented-seeds 3 --frontier 10,20,30 \
		--json benchmarks/results/cpu-2core.json --summary mnist_ann/precomputed.json --figure images/benchmark.png
	$(PY) benchmarks/publish.py

# What each piece of the training engine costs: `fast` with one piece taken away at a time, alternated.
engine: $(VENV)/.installed
	$(PY) benchmarks/engine.py --rounds 3 --json benchmarks/results/engine-cpu-2core.json
	$(PY) benchmarks/publish.py

# The notebook's "experiments to try": each edit over five seeds; the notebook prints the file it writes.
experiments: $(VENV)/.installed
	$(PY) benchmarks/experiments.py --seeds 5 --json mnist_ann/experiments.json

# A copy of the notebook run with other parameters by papermill, into OUT (default runs/variant) with its figures
# in OUT/figures; the committed notebook and images/ are never written. Any of SEED, RECIPE, EPOCHS, HIDDEN_1 and
# HIDDEN_2 given on the command line is passed on, e.g. `make variant RECIPE=augmented SEED=1`.
OUT ?= runs/variant
KNOBS := SEED RECIPE EPOCHS HIDDEN_1 HIDDEN_2
variant: $(VENV)/.installed
	$(if $(filter $(abspath $(OUT)),$(abspath notebooks) $(abspath images) $(CURDIR)),\
		$(error OUT=$(OUT) would overwrite the committed notebook or figures; choose another folder))
	mkdir -p $(OUT)
	MNIST_ANN_FIGURES_DIR=$(abspath $(OUT))/figures $(PY) -m papermill --cwd $(OUT) $(NOTEBOOK) $(OUT)/MNIST-NN.ipynb \
		$(foreach knob,$(KNOBS),$(if $(filter command line,$(origin $(knob))),-p $(knob) $($(knob))))

clean:
	rm -rf $(VENV) runs .pytest_cache
