# `make run` re-executes the notebook in place and regenerates images/ and the drawing page's weights; `make test` runs
# the unit tests, the browser tests and nbval, and changes no tracked file. Both create .venv with a supported Python
# and install the locked environment (requirements-dev.lock: what runs the notebook, requirements.lock, and the tools
# that test it) on first use. `make lock` refreshes both locks.
SUPPORTED := 3.11 3.12 3.13
# The first supported Python found: python3 itself when it is one, else python3.13, python3.12, python3.11.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(firstword $(foreach candidate,python3 python3.13 python3.12 python3.11,\
	$(if $(filter $(SUPPORTED),$(shell $(candidate) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)),$(candidate))))
endif
VENV ?= .venv
PY := $(VENV)/bin/python
NOTEBOOK := notebooks/MNIST-NN.ipynb
# Quiet TensorFlow's C++ start-up chatter so logs and notebook outputs stay readable (0 shows everything).
export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: run test test-all lint lock bench experiments choose variant site serve clean

$(VENV)/.installed: requirements-dev.lock pyproject.toml
	@test -n "$(PYTHON)" || { echo "make: no Python 3.11, 3.12 or 3.13 found (python3 is $$(python3 --version 2>&1)); install one, or pass PYTHON=/path/to/python3.12." >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' || { echo "make: $(PYTHON) is $$($(PYTHON) --version 2>&1); mnist-ann needs Python 3.11, 3.12 or 3.13: pass PYTHON=python3.12, say." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

# Every package, transitive ones included, pinned by pip-tools; the same locks install on Python 3.11 to 3.13. The
# runtime lock first: the development lock is constrained to it.
LOCK := $(PY) -m piptools compile --quiet --strip-extras --no-header --allow-unsafe --no-emit-index-url --no-emit-find-links
lock: $(VENV)/.installed
	$(LOCK) --output-file requirements.lock requirements.txt
	$(LOCK) --output-file requirements-dev.lock requirements-dev.txt

# No per-cell timestamps (they churn every diff); the figures go to images/ and the trained weights to the drawing page;
# then the page's screenshot (where Chromium is installed) and the hygiene check.
run: $(VENV)/.installed
	MNIST_ANN_FIGURES_DIR=$(CURDIR)/images MNIST_ANN_PAGE_DIR=$(CURDIR)/docs/draw $(PY) -m jupyter nbconvert \
		--to notebook --execute --inplace --ExecutePreprocessor.timeout=1800 \
		--ExecutePreprocessor.kernel_name=python3 --ExecutePreprocessor.record_timing=False $(NOTEBOOK)
	$(PY) tests/browser.py --screenshot images/draw-page.png || echo "make: no screenshot of the drawing page taken; images/draw-page.png is the last one"
	$(PY) -m pytest -q tests/test_notebook_hygiene.py

# `make test`: every behaviour once, in about 3 minutes on 2 cores; `make test-all` adds the slow tier (the notebook
# broken on purpose and in other settings, papermill, two workers, a really full disk, the benchmarks), as CI does.
test: $(VENV)/.installed
	$(PY) -m pytest -m "not full"

test-all: $(VENV)/.installed
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(PY) -m ruff check mnist_ann benchmarks tools tests conftest.py
	$(PY) -m ruff format --check mnist_ann benchmarks tools tests conftest.py
	$(PY) -m ruff format --check --line-length 100 notebooks  # GitHub and Colab cut longer lines
	$(PY) -m ruff check --select E501 --line-length 100 notebooks
	$(PY) -m check_jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

# The benchmark; its results then fill the README's and docs/benchmark.md's tables (benchmarks/publish.py).
bench: $(VENV)/.installed
	$(PY) -m benchmarks.bench --seeds 5 --slow-seeds 3 \
		--json benchmarks/results/cpu-2core.json --summary mnist_ann/precomputed.json --figure images/benchmark.png
	$(PY) -m benchmarks.publish

# The notebook's "experiments to try": each edit over five seeds; the notebook prints the file it writes.
experiments: $(VENV)/.installed
	$(PY) -m benchmarks.experiments --seeds 5 --json mnist_ann/experiments.json

# How the recipes were chosen, on the validation set only (slow: each candidate over several seeds).
choose: $(VENV)/.installed
	$(PY) -m benchmarks.choose fast --seeds 5
	$(PY) -m benchmarks.choose augmented --seeds 3
	$(PY) -m benchmarks.choose long --seeds 3

# A copy of the notebook run with other parameters by papermill, into OUT (default runs/variant) with its figures
# in OUT/figures; the committed notebook and images/ are never written. Any of SEED, RECIPE, EPOCHS, LEARNING_RATE,
# HIDDEN_1 and HIDDEN_2 given on the command line is passed on, e.g. `make variant RECIPE=augmented SEED=1`.
OUT ?= runs/variant
KNOBS := SEED RECIPE EPOCHS LEARNING_RATE HIDDEN_1 HIDDEN_2
variant: $(VENV)/.installed
	$(if $(filter $(abspath $(OUT)),$(abspath notebooks) $(abspath images) $(CURDIR)),\
		$(error OUT=$(OUT) would overwrite the committed notebook or figures; choose another folder))
	mkdir -p $(OUT)
	MNIST_ANN_FIGURES_DIR=$(abspath $(OUT))/figures $(PY) -m papermill --cwd $(OUT) $(NOTEBOOK) $(OUT)/MNIST-NN.ipynb \
		$(foreach knob,$(KNOBS),$(if $(filter command line,$(origin $(knob))),-p $(knob) $($(knob))))

# The site for GitHub Pages: README, the notebook rendered, the docs and the drawing page, in build/site.
site: $(VENV)/.installed
	$(PY) -m tools.site build/site

# The drawing page on http://127.0.0.1:8000/draw/ (docs/ served as GitHub Pages serves it); Ctrl-C stops it.
serve:
	python3 -m http.server 8000 --bind 127.0.0.1 --directory docs

clean:
	rm -rf $(VENV) runs build .pytest_cache
