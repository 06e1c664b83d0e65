#!/usr/bin/env bash
# Makes the Python environment the vendored TCK runs in, from pip, once per set of requirements:
# a venv under ${AGENTRY_TCK_VENV:-~/.cache/agentry-tck/venv}, remade when requirements.txt
# changes. Prints the venv's python. Needs python3 with its venv module (.ci/run installs
# python3-venv where it is missing).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${AGENTRY_TCK_VENV:-$HOME/.cache/agentry-tck/venv}"
stamp="$(sha256sum "$here/requirements.txt" | cut -c1-16)"
if [ "$(cat "$venv/.agentry-stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv" >&2
  # An index that cannot be reached is passed over at once (--retries 0) rather than retried, so a
  # machine whose pip is set up with further indexes does not wait on the default one.
  "$venv/bin/pip" install --quiet --disable-pip-version-check --retries 0 --timeout 30 \
    -r "$here/requirements.txt" >&2
  echo "$stamp" >"$venv/.agentry-stamp"
fi
echo "$venv/bin/python"
