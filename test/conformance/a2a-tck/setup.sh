#!/usr/bin/env bash
# Makes the Python environment the vendored TCK runs in (test/helpers/python-venv.sh): a venv under
# ${AGENTRY_TCK_VENV:-~/.cache/agentry-tck/venv}, remade when requirements.txt changes. Prints the
# venv's python.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../../helpers/python-venv.sh" "$here/requirements.txt" \
  "${AGENTRY_TCK_VENV:-$HOME/.cache/agentry-tck/venv}"
