#!/usr/bin/env bash
# Makes a Python environment from pip for the tests that run a Python program (the A2A TCK, the
# openai client), once per set of requirements: a venv at $2, remade when the requirements file $1
# changes. Prints the venv's python. Needs python3 with its venv module (.ci/run installs
# python3-venv where it is missing).
set -euo pipefail
requirements="$1"
venv="$2"
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  echo "python3 with its venv module is needed for $requirements: apt-get install -y python3-venv" >&2
  exit 1
fi
stamp="$(sha256sum "$requirements" | cut -c1-16)"
if [ "$(cat "$venv/.agentry-stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv" >&2
  # An index that cannot be reached is passed over at once (--retries 0) rather than retried, so a
  # machine whose pip is set up with further indexes does not wait on the default one.
  "$venv/bin/pip" install --quiet --disable-pip-version-check --retries 0 --timeout 30 \
    -r "$requirements" >&2
  echo "$stamp" >"$venv/.agentry-stamp"
fi
echo "$venv/bin/python"
