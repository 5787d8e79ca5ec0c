#!/usr/bin/env bash
# Vast.ai on-start script. Use the empathy-probes image as the instance's image (SSH launch mode),
# paste this file into the template's "On-start script" field, and give HF_TOKEN in the template's
# environment (-e HF_TOKEN=...) if gated hub models are needed; it is never written to disk here.
# In the template's Docker options, add `--ipc=host` (NCCL and worker processes need shared memory) and
# `-v /workspace/eia-cache:/home/eia/.cache` so that a new container does not download the hub models again.
#   EIA_DIR       where the project lives (default: the image's working directory)
#   EIA_REPO_URL  if EIA_DIR holds no project (e.g. another image): git-clone it from here
#   EIA_REF       optional branch/tag/commit to check out after cloning
set -euo pipefail

EIA_DIR="${EIA_DIR:-/workspace/empathy-probes}"

if [ ! -f "$EIA_DIR/dvc.yaml" ]; then
  if [ -z "${EIA_REPO_URL:-}" ]; then
    echo "vast-onstart: no project in $EIA_DIR and EIA_REPO_URL is not set" >&2
    exit 2
  fi
  git clone "$EIA_REPO_URL" "$EIA_DIR"
  if [ -n "${EIA_REF:-}" ]; then git -C "$EIA_DIR" checkout "$EIA_REF"; fi
fi
cd "$EIA_DIR"
command -v dvc >/dev/null || { echo "vast-onstart: dvc is not installed; use the empathy-probes image" >&2; exit 2; }

# Vast's SSH sessions don't inherit the image's ENV: hand the non-secret ones to login shells
# (HF_TOKEN deliberately excluded).
if [ -w /etc/profile.d ]; then
  env | grep -E '^(EIA_|HF_HOME=|HF_HUB_OFFLINE=|DVC_|TOKENIZERS_|PYTHON|VLLM_|DO_NOT_TRACK=)' \
    | while IFS='=' read -r name value; do printf 'export %s=%q\n' "$name" "$value"; done \
    > /etc/profile.d/eia-env.sh || true
fi

# Only data/ is guaranteed to be in the bundled remote; pipeline outputs are pulled if present.
dvc pull --allow-missing

cat <<MSG
empathy-probes is ready in $EIA_DIR.
Open the TUI over SSH (Vast starts a tmux session, so it survives disconnects):
  cd $EIA_DIR && docker/entrypoint.sh            # = tui
Other commands: docker/entrypoint.sh repro | test -m gpu | shell
Hub models: export HF_TOKEN=... and HF_HUB_OFFLINE=0 in that session if they are not set already.
MSG
