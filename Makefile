# `make run` re-executes the notebook in place and regenerates images/; `make test` runs the unit tests and nbval,
# and changes no tracked file. Both create .venv and install the pinned requirements on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
NOTEBOOK := notebooks/MNIST-NN.ipynb
# Quiet TensorFlow's C++ start-up chatter so logs and notebook outputs stay readable (0 shows everything).
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: run test lint bench experiments variant clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

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

bench: $(VENV)/.installed
	$(PY) benchmarks/bench.py --seeds 5 --augmented-seeds 3 --json benchmarks/results/cpu-2core.json \
		--summary mnist_ann/precomputed.json

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
