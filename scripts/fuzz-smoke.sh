#!/usr/bin/env bash
# Short, bounded fuzz runs of every decoder target (filled in as targets land).
set -euo pipefail
echo "fuzz-smoke: no targets yet"
