#!/usr/bin/env bash
# Installs what the end-to-end tests need: a Python venv in .venv with the
# real Segment SDK. Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import segment.analytics" 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/sdk/requirements.txt
fi
echo "test environment ready: $(.venv/bin/python --version), $(.venv/bin/pip show segment-analytics-python | grep ^Version)"
