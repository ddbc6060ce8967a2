#!/usr/bin/env bash
# Runs every test: installs the test clients (Python venv with the Segment
# SDK), checks formatting, then the whole workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-test-env.sh
cargo fmt --all -- --check
cargo test --workspace --locked "$@"
