#!/usr/bin/env bash
# The relay benchmark (bench/README.md): builds the load generator and runs every target and scenario.
# Arguments go to bench/relay.py (--quick, --targets room,ws,socketio, --scenarios ..., --help).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/relay.py "$@"
