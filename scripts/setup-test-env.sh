#!/usr/bin/env bash
# Installs what the end-to-end tests need: a Python venv in .venv with the
# real Segment and RudderStack SDKs, and a JSON Schema validator. Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import segment.analytics, rudderstack.analytics, jsonschema, aiosmtpd, chdb, duckdb, pm4py" 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
fi
echo "test environment ready: $(.venv/bin/python --version); $(.venv/bin/pip freeze | grep -E "^(segment-analytics-python|rudder-sdk-python|jsonschema|aiosmtpd|chdb|duckdb|pm4py)=" | tr "\n" " ")"
