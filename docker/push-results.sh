#!/usr/bin/env bash
# Send a GPU box's results home through a DVC remote before the rented instance is destroyed.
#   docker/push-results.sh s3://BUCKET/empathy-probes     # or ssh://user@host/path/to/store
# The remote is written to .dvc/config.local (never committed) as "results"; `dvc push -r results`
# uploads every pipeline output recorded in dvc.lock (tables, activation caches, figures, data).
# Credentials come from the environment (AWS_* for S3; an SSH agent or key for SSH), never from here.
# At home: `dvc remote add -d results URL` in a clone at the same commit, then `dvc pull -r results`.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

url="${1:-}"
if [ -z "$url" ]; then
  echo "usage: docker/push-results.sh s3://BUCKET/PATH | ssh://USER@HOST/PATH" >&2
  exit 2
fi
case "$url" in
  s3://*)  plugin=dvc_s3;  pkg=dvc-s3 ;;
  ssh://*) plugin=dvc_ssh; pkg=dvc-ssh ;;
  *) echo "push-results: only s3:// and ssh:// remotes are supported here, not '$url'" >&2; exit 2 ;;
esac
PYTHON="$(command -v python3 || command -v python)"
if ! "$PYTHON" -c "import $plugin" 2>/dev/null; then
  echo "push-results: DVC needs its $pkg plugin for this remote: pip install $pkg" >&2
  exit 2
fi
[ -f dvc.lock ] || { echo "push-results: no dvc.lock yet; run the pipeline (repro) first" >&2; exit 2; }

dvc remote add --local --force results "$url"
dvc push -r results
echo "pushed to $url; at home: dvc remote add -d results $url && dvc pull -r results"
