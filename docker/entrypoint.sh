#!/usr/bin/env bash
# The image's entrypoint (DESIGN §2): docker run IMAGE [tui | repro ARGS | test ARGS | shell].
set -euo pipefail

usage() {
  echo "usage: docker/entrypoint.sh {tui | repro [paper] [DVC_REPRO_ARGS...] | test [PYTEST_ARGS...] | shell}" >&2
  echo "  tui    open the TUI (default); restores data/ from the bundled DVC remote first if missing" >&2
  echo "  repro  dvc pull, then dvc repro with the given arguments (the smoke pipeline, dvc.yaml)" >&2
  echo "         repro paper: the paper profile's pipeline, pipelines/paper/paper.yaml (GPU; hub models via HF_TOKEN)" >&2
  echo "  test   python -m pytest -q with the given arguments (GPU tests: test -m gpu)" >&2
  echo "  shell  an interactive bash in the project directory" >&2
}

# Run from the project root wherever the script is called from (the image's WORKDIR in practice).
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
PYTHON="${PYTHON:-python3}"

cmd="${1:-tui}"
if [ "$#" -gt 0 ]; then shift; fi

case "$cmd" in
  tui)
    # Only data/ is needed to open the TUI; pull just its .dvc file (outputs may not be in the remote).
    if [ ! -d data ]; then dvc pull --quiet data.dvc; fi
    exec "$PYTHON" -m app "$@"
    ;;
  repro)
    # --allow-missing: pipeline outputs that the bundled remote lacks are recomputed by repro.
    dvc pull --allow-missing
    # the paper stages (pipelines/paper/paper.yaml, hidden from DVC on CPU checkouts) become a pipeline here
    if [ "${1:-}" = "paper" ]; then shift; cp pipelines/paper/paper.yaml pipelines/paper/dvc.yaml
      exec dvc repro pipelines/paper/dvc.yaml "$@"; fi
    exec dvc repro "$@"
    ;;
  test)
    exec "$PYTHON" -m pytest -q "$@"
    ;;
  shell)
    exec bash "$@"
    ;;
  *)
    echo "docker/entrypoint.sh: unknown command '$cmd'" >&2
    usage
    exit 2
    ;;
esac
