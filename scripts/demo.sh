#!/usr/bin/env bash
# The main job on the embedded store (./.arco, no cloud account): append events, compact,
# show the state, verify a rebuild against it, run the doctor. Leaves the store for `arco dev`.
set -euo pipefail
cd "$(dirname "$0")/.."
ARCO="${ARCO:-.venv/bin/arco}"
export ARCO_STORE="${ARCO_STORE:-file://./.arco}"
export ARCO_WORKSPACE="${ARCO_WORKSPACE:-demo}"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "record workspace settings (each is one ledger object)"
$ARCO settings set runs.max_in_flight 8
$ARCO settings set reconciliation.max_runs_per_hour 30
$ARCO settings set reconciliation.enabled true

step "a bad setting is refused, and nothing is written"
if $ARCO settings set reconciliation.enabled maybe; then
  echo "expected a refusal" >&2; exit 1
fi

step "compact: fold the ledger into Parquet tables and publish manifest N+1"
$ARCO compact

step "the published state"
$ARCO state
$ARCO settings list

step "rebuild every table from the ledger and compare with what is published"
$ARCO rebuild --verify

step "doctor: pointer, manifests, files, quarantine, ledger"
$ARCO doctor

printf '\nThe store is in %s (workspace %s). Serve it with: %s dev --workspace %s\n' \
  "$ARCO_STORE" "$ARCO_WORKSPACE" "$ARCO" "$ARCO_WORKSPACE"
