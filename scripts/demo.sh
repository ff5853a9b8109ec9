#!/usr/bin/env bash
# The main job on the embedded store (./.arco, no cloud account): deploy an example code
# location, let a simulated week of timer runs tick its schedules, deliver a sensor message,
# change a code version, read the staleness report and the reconciliation plan, execute it,
# and check the state. Leaves the store behind for `arco dev`.
#
# The story runs on a simulated timeline that ends a few minutes before now: every event it
# writes is in the past, so the store can be used in real time afterwards (`arco dev`, `arco
# run --wait`). Run again, it starts over (the demo workspace of a local store is reset).
set -euo pipefail
cd "$(dirname "$0")/.."
ARCO="${ARCO:-.venv/bin/arco}"
export ARCO_STORE="${ARCO_STORE:-file://./.arco}"
export ARCO_WORKSPACE="${ARCO_WORKSPACE:-demo}"
# Tasks of runs execute in this process (the cloud uses the `worker` function instead).
export ARCO_DEFINITIONS="${ARCO_DEFINITIONS:-examples.shop:defs}"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# The timeline: hour 0 is 179 h 10 min ago, so its last hour (179) ends 10 minutes before now.
T0="$(.venv/bin/python -c 'import time; print(int(time.time()) - 179 * 3600 - 600)')"
at() { .venv/bin/python -c "import datetime as d; print(d.datetime.fromtimestamp($T0 + round($1 * 3600), d.UTC).strftime('%Y-%m-%dT%H:%M:%SZ'))"; }
# The first steps happen in the timeline's first minutes, 20 s apart (a command's own clock
# flows on from its --at while it runs).
SECONDS_IN=0
arco() { SECONDS_IN=$((SECONDS_IN + 20)); ARCO_AT="$(at "$SECONDS_IN/3600")" $ARCO "$@"; }

case "$ARCO_STORE" in  # a local store: the demo's own workspace starts over
  file://*)
    root="${ARCO_STORE#file://}"
    rm -rf "$root/workspaces/$ARCO_WORKSPACE" "$root/directory/workspaces/$ARCO_WORKSPACE.json"
    ;;
esac

step "create the workspace (nothing else does: a misspelt name is an error, not a new workspace)"
arco workspace create "$ARCO_WORKSPACE"
if arco --workspace demo-typo state; then echo "expected an unknown workspace" >&2; exit 1; fi

step "workspace settings (each is one ledger object); a bad value is refused"
arco settings set runs.max_in_flight 8
if arco settings set reconciliation.enabled maybe; then echo "expected a refusal" >&2; exit 1; fi

step "deploy the example code location (examples/shop.py)"
arco deploy --definitions examples.shop:defs
arco deploy --definitions examples.shop:defs   # the same snapshot again: nothing recorded
arco assets
arco partitions revenue --limit 5

step "run a week of orders and revenue now, executed here; the same run_key again is the same run"
arco run 'key:orders or key:revenue' --from 2024-01-01 --to 2024-01-07 --run-key demo-week --wait
arco run 'key:orders or key:revenue' --from 2024-01-01 --to 2024-01-07 --run-key demo-week
if arco run 'key:orders' --partition 2024-01-01 --run-key demo-week; then
  echo "expected a run_key conflict" >&2; exit 1
fi
if arco run 'key:no_such_asset' --partition 2024-01-01; then echo "expected a refusal" >&2; exit 1; fi
RUN_ID="$(arco runs --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["runs"][0]["run_id"])')"
arco status "$RUN_ID"
arco logs "$RUN_ID" --task 0
arco partitions orders --limit 3

step "a simulated week: the timer every 6 hours (schedules request runs; their tasks run here)"
$ARCO tick --now "$(at 6)" --until "$(at 168)" --step 6h | tail -n 4
$ARCO schedules
$ARCO schedules ticks nightly --limit 7
$ARCO schedules ticks dashboard_refresh --limit 4

step "an operator stops a schedule: its next tick is recorded as SKIPPED"
$ARCO --at "$(at 170)" schedules stop dashboard_refresh   # in the simulated timeline
$ARCO tick --now "$(at 174)"
$ARCO schedules ticks dashboard_refresh --limit 2

step "a message for the push sensor, delivered here as Pub/Sub would push it to sensor_push"
$ARCO --at "$(at 175)" sensors push orders_landed --attribute day=2024-01-09
$ARCO tick --now "$(at 176)" | tail -n 1
$ARCO --at "$(at 176)" sensors ticks orders_landed --limit 1

step "revenue's code changes (examples/shop_v2.py: code version 2) and is deployed"
export ARCO_DEFINITIONS=examples.shop_v2:defs
$ARCO --at "$(at 177)" deploy --definitions examples.shop_v2:defs
$ARCO --at "$(at 177)" staleness 'key:revenue or key:dashboard' --status STALE --limit 6
$ARCO --at "$(at 177)" staleness --summary 'key:orders or key:revenue or key:dashboard'

step "what should run to fix it: the reconciliation plan (run keys derived from the causes)"
$ARCO --at "$(at 177)" reconcile plan --max-runs 4
$ARCO --at "$(at 177)" reconcile execute --dry-run | tail -n 3

step "execute it: reconciliation is off by default; enable it and let the timer run the plan"
$ARCO --at "$(at 177)" settings set reconciliation.enabled true
$ARCO --at "$(at 177)" settings set reconciliation.dry_run false
$ARCO --at "$(at 177)" settings set reconciliation.max_runs_per_hour 50
$ARCO tick --now "$(at 178)" --until "$(at 179)" --step 10m | tail -n 2
$ARCO --at "$(at 179)" reconcile log --limit 3
$ARCO --at "$(at 179)" staleness --summary 'key:orders or key:revenue or key:dashboard'
STALE="$($ARCO --at "$(at 179)" staleness --status STALE --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["summary"]["STALE"])')"
if [ "$STALE" != "0" ]; then echo "expected every materialized partition FRESH, $STALE stale" >&2; exit 1; fi
echo "every materialized partition is FRESH again"

step "the published state, verified against a rebuild from the ledger"
$ARCO state
$ARCO rebuild --verify
$ARCO doctor

printf '\nThe store is in %s (workspace %s). Serve it with: %s --workspace %s dev --definitions examples.shop_v2:defs\n' \
  "$ARCO_STORE" "$ARCO_WORKSPACE" "$ARCO" "$ARCO_WORKSPACE"
