"""`arco doctor`: is the published state healthy, and what should an operator do if not?

Each finding has a status (ok / warning / error), a one-line summary, details, and the action
to take. It reads the pointer, manifests, the table-file listing and the quarantine table, and
lists the ledger once to find objects the compactor has not folded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from arco.domain.errors import CorruptState
from arco.domain.sensors import PUSH_QUARANTINE
from arco.domain.system_tables import LEDGER_OBJECTS, QUARANTINE
from arco.domain.ulid import is_ulid, ulid_time_ms
from arco.ledger.reader import window_start
from arco.projections.manifest import Manifest, read_manifest, read_pointer
from arco.services.workspace import Workspace

Status = Literal["ok", "warning", "error"]
_TABLE_FILE = re.compile(r"/(\d{20})\.(base|delta)\.[0-9a-f]{12}\.parquet$")
_MANIFEST_FILE = re.compile(r"/(\d{20})\.json$")

QUARANTINE_ACTIONS = {
    "malformed_json": "The object is not JSON. Inspect it; if it holds real events, re-append "
    "them with a valid batch; then it can stay (it is never folded again).",
    "invalid_batch": "The object is JSON but not an Arco batch. Find the writer that produced it.",
    "wrong_workspace": "A writer wrote another workspace's events here. Fix its ARCO_WORKSPACE "
    "and re-append the events to the right workspace.",
    "invalid_payload": "An event's payload does not match its type. Fix the writer and re-append.",
    "unsupported_event": "Written by a newer Arco (unknown type or version). Upgrade the "
    "compactor, then run `arco quarantine replay` to fold these events.",
    "fold_error": "A fold rule raised on this event (a bug). Report it; after the fix, run "
    "`arco quarantine replay`.",
    "rejected": "The fold refused this event for the reason given (a name this build does not "
    "know, or something the state does not have). After an upgrade, or once the reason is gone, "
    "run `arco quarantine replay`.",
}


@dataclass
class Finding:
    check: str
    status: Status
    summary: str
    action: str | None = None
    details: list[Any] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status,
            "summary": self.summary,
            "action": self.action,
            "details": self.details,
        }


def run_doctor(ws: Workspace) -> list[Finding]:
    findings: list[Finding] = []
    try:
        pointer, _ = read_pointer(ws.store, ws.layout)
    except CorruptState as exc:
        return [
            Finding(
                "pointer",
                "error",
                str(exc),
                "Restore the pointer from the previous manifest id (see docs/operations.md).",
            )
        ]
    ledger = [ws.layout.object_name(o.key) for o in ws.store.list(ws.layout.ledger_prefix)]
    if pointer is None and next(iter(ws.store.list(ws.layout.manifests_prefix)), None):
        return [
            Finding(
                "pointer",
                "error",
                "the pointer is missing but manifests exist",
                "Run `arco restore-pointer` (newest complete manifest), then doctor.",
            )
        ]
    if pointer is None:
        status: Status = "warning" if ledger else "ok"
        findings.append(
            Finding(
                "pointer",
                status,
                f"nothing published yet; {len(ledger)} ledger object(s) waiting",
                "Run `arco compact`." if ledger else None,
            )
        )
        return findings
    try:
        manifest = read_manifest(ws.store, ws.layout, pointer.manifest_id)
    except CorruptState as exc:
        return [
            Finding(
                "manifest",
                "error",
                str(exc),
                "Point the pointer back at the previous manifest (docs/operations.md).",
            )
        ]
    findings.append(
        Finding(
            "pointer",
            "ok",
            f"pointer -> manifest {manifest.manifest_id}, watermark {manifest.watermark}",
        )
    )
    findings.append(_check_files(ws, manifest))
    findings.append(_check_orphans(ws, manifest))
    snapshot = ws.snapshots.snapshot(manifest)
    try:
        quarantine = snapshot.table(QUARANTINE.name).to_pylist()
        folded = set(snapshot.table(LEDGER_OBJECTS.name).column("object_name").to_pylist())
    except CorruptState as exc:
        findings.append(
            Finding(
                "tables",
                "error",
                f"cannot read system tables: {exc}",
                "Run `arco rebuild` to republish every table from the ledger.",
            )
        )
        return findings
    findings.append(_check_quarantine(quarantine))
    findings.append(_check_push_quarantine(snapshot.table(PUSH_QUARANTINE.name).to_pylist()))
    findings.append(_check_pending(ws, manifest, ledger, folded))
    schedules = _check_schedules(ws)
    if schedules is not None:
        findings.append(schedules)
    runs = _check_runs(ws)
    if runs is not None:
        findings.append(runs)
    return findings


TIMER_GRACE_MS = 10 * 60_000


def _check_schedules(ws: Workspace) -> Finding | None:
    """Is the timer running (no running schedule missed a tick by more than the grace), and
    did any tick fail? None when nothing is deployed."""
    from datetime import UTC, datetime

    from arco.domain.schedule_controller import effective_status, to_ms
    from arco.domain.schedules import SCHEDULE_STATE, SCHEDULE_TICKS
    from arco.services.queries.definitions import current_definitions

    snapshot = ws.snapshot()
    defs = current_definitions(snapshot)
    if defs is None or not defs.schedules:
        return None
    now_ms = ws.clock.now_ms()
    now = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    states = {k[0]: row for k, row in snapshot.rows(SCHEDULE_STATE.name).items()}
    late: list[dict[str, Any]] = []
    catching_up: list[dict[str, Any]] = []
    for name, node in sorted(defs.schedules.items()):
        row = states.get(name)
        if effective_status(node, row) != "RUNNING":
            continue
        latest = node.cron.latest_tick(now, node.timezone)
        since = max(
            (row or {}).get("last_tick_ms") or -1,
            (row or {}).get("operator_changed_at_ms") or -1,
            (row or {}).get("default_running_since_ms") or -1,
        )
        if latest is not None and since < to_ms(latest) < now_ms - TIMER_GRACE_MS:
            entry = {"schedule": name, "missed_tick": latest.isoformat()}
            # A catch-up capped by a recent timer call is behind because the timer is working
            # through the window a few ticks per call, not because the timer stopped.
            capped_at = (row or {}).get("capped_at_ms")
            if capped_at is not None and capped_at >= now_ms - TIMER_GRACE_MS:
                catching_up.append(entry)
            else:
                late.append(entry)
    failed = [
        {"schedule": r["schedule"], "tick": r["tick_time"], "error": r["error"]}
        for r in snapshot.table(SCHEDULE_TICKS.name).to_pylist()
        if r["status"] == "FAILED" and r["tick_ms"] >= now_ms - 86_400_000
    ]
    if late:
        return Finding(
            "schedules",
            "error",
            f"{len(late)} running schedule(s) missed a tick by more than "
            f"{TIMER_GRACE_MS // 60_000} minutes: the timer is not running",
            "Check the timer's Cloud Tasks queue and the Cloud Scheduler backstop; "
            "`arco tick` runs the timer once by hand.",
            late + failed,
        )
    if catching_up:
        return Finding(
            "schedules",
            "warning",
            f"{len(catching_up)} schedule(s) catching up after missed ticks, "
            "a few ticks per timer call",
            "Nothing to do: each timer call evaluates up to the schedule's catch-up "
            "max_per_call; see `arco schedules ticks NAME`.",
            catching_up + failed,
        )
    if failed:
        return Finding(
            "schedules",
            "warning",
            f"{len(failed)} tick(s) FAILED in the last 24 h",
            "See `arco schedules ticks NAME --status FAILED` for the errors.",
            failed,
        )
    return Finding("schedules", "ok", f"{len(defs.schedules)} schedule(s), timer on time")


def _check_runs(ws: Workspace) -> Finding | None:
    """Are runs advancing? A retry overdue by more than the grace, or an order older than the
    dispatch timeout that nobody timed out, means no timer call has looked at them. None when
    there are no runs."""
    from arco.domain.run_controller import RunPolicy
    from arco.services.queries.runs import active_runs, tasks_by_run

    snapshot = ws.snapshot()
    if snapshot.table("runs").num_rows == 0:
        return None
    runs = active_runs(snapshot)
    now_ms = ws.clock.now_ms()
    policy = RunPolicy()
    stuck = []
    for run_id, tasks in sorted(tasks_by_run(snapshot, [r["run_id"] for r in runs]).items()):
        for task in tasks:
            overdue = None
            if task["status"] == "RETRY_WAIT" and task["retry_at_ms"] is not None:
                overdue = now_ms - task["retry_at_ms"]
            elif task["status"] == "DISPATCHED" and task["dispatched_ms"] is not None:
                overdue = now_ms - task["dispatched_ms"] - policy.dispatch_timeout_ms
            if overdue is not None and overdue > TIMER_GRACE_MS:
                stuck.append(
                    {
                        "run_id": run_id,
                        "task": task["index"],
                        "asset": task["asset"],
                        "partition": task["partition"],
                        "status": task["status"],
                        "overdue_minutes": overdue // 60_000,
                    }
                )
    queued = [r for r in runs if r["status"] == "QUEUED"]
    if stuck:
        return Finding(
            "runs",
            "error",
            f"{len(stuck)} task(s) of active runs are overdue by more than "
            f"{TIMER_GRACE_MS // 60_000} minutes: no timer call is advancing runs",
            "Check the timer's Cloud Tasks queue (and ARCO_WORKER_URL for dispatches); "
            "`arco tick` runs the timer once by hand.",
            stuck[:100],
        )
    return Finding(
        "runs",
        "ok",
        f"{len(runs)} active run(s) ({len(queued)} queued), none overdue",
    )


def _check_files(ws: Workspace, manifest: Manifest) -> Finding:
    listed = {o.key: o.size for o in ws.store.list(ws.layout.tables_prefix)}
    problems = []
    for name, entry in sorted(manifest.tables.items()):
        for file in entry.files:
            if file.key not in listed:
                problems.append({"table": name, "file": file.key, "problem": "missing"})
            elif listed[file.key] != file.bytes:
                problems.append({"table": name, "file": file.key, "problem": "size differs"})
    side = manifest.recent_file
    if side is not None:  # the names folded in the window, which the compactor reads
        stored = next(iter(ws.store.list(side.key)), None)
        if stored is None or stored.size != side.bytes:
            problem = "missing" if stored is None else "size differs"
            problems.append({"table": "(recent objects)", "file": side.key, "problem": problem})
    if problems:
        return Finding(
            "table files",
            "error",
            f"{len(problems)} table file(s) missing or altered",
            "Run `arco rebuild` to republish every table from the ledger.",
            problems,
        )
    count = sum(len(e.files) for e in manifest.tables.values())
    return Finding(
        "table files", "ok", f"{count} table file(s) of manifest {manifest.manifest_id} present"
    )


def _published_chain(ws: Workspace, current: Manifest, limit: int = 10_000) -> dict[int, Manifest]:
    """The manifests the pointer has published, newest first, following parent ids."""
    chain: dict[int, Manifest] = {}
    manifest: Manifest | None = current
    while manifest is not None and len(chain) < limit:
        chain[manifest.manifest_id] = manifest
        parent = manifest.parent_id
        try:
            manifest = read_manifest(ws.store, ws.layout, parent) if parent else None
        except CorruptState:
            manifest = None
    return chain


def _check_orphans(ws: Workspace, current: Manifest) -> Finding:
    """Objects no published manifest references: left by a crash or a lost race. Objects with
    an id above the published manifest may be a compaction publishing right now (between its
    manifest and its pointer CAS): they are listed apart and never called orphans."""
    chain = _published_chain(ws, current)
    oldest = min(chain)
    orphans: list[dict[str, Any]] = []
    ahead: list[dict[str, Any]] = []

    def place(key: str, manifest_id: int, kind: str) -> None:
        if manifest_id > current.manifest_id:
            ahead.append({"object": key, "kind": "ahead of the pointer (publishing?)"})
        else:
            orphans.append({"object": key, "kind": kind})

    for obj in ws.store.list(ws.layout.manifests_prefix):
        match = _MANIFEST_FILE.search(obj.key)
        if match and int(match.group(1)) not in chain and int(match.group(1)) >= oldest:
            place(obj.key, int(match.group(1)), "manifest never published")
    live = {f.key for e in current.tables.values() for f in e.files}
    for obj in ws.store.list(ws.layout.tables_prefix):
        match = _TABLE_FILE.search(obj.key)
        if obj.key in live or not match or int(match.group(1)) < oldest:
            continue
        written_for = chain.get(int(match.group(1)))
        if written_for is None:
            place(obj.key, int(match.group(1)), "table file never published")
        elif obj.key not in {f.key for e in written_for.tables.values() for f in e.files}:
            orphans.append({"object": obj.key, "kind": "table file of a lost race"})
    if orphans:
        return Finding(
            "orphans",
            "warning",
            f"{len(orphans)} orphaned object(s) from crashed or lost compactions (harmless)",
            "They are never read and can never be published (their ids are below the published "
            "manifest). Delete them if storage matters, or leave them."
            + (
                f" Leave the {len(ahead)} object(s) above the published manifest: a compaction "
                "may be publishing them."
                if ahead
                else ""
            ),
            orphans + ahead,
        )
    if ahead:
        return Finding(
            "orphans",
            "ok",
            f"no orphaned files; {len(ahead)} object(s) above the published manifest "
            "(a compaction publishing, or one that crashed moments ago: the next passes them)",
            "Never delete these: they may be published any moment.",
            ahead,
        )
    return Finding("orphans", "ok", "no orphaned files")


def _check_quarantine(rows: list[dict[str, Any]]) -> Finding:
    if not rows:
        return Finding("quarantine", "ok", "no quarantined ledger objects")
    details = [
        {
            "object": r["object_name"],
            "event_id": r["event_id"] or None,
            "kind": r["kind"],
            "reason": r["reason"],
            "action": QUARANTINE_ACTIONS.get(r["kind"]),
        }
        for r in rows
    ]
    whole = sum(1 for r in rows if not r["event_id"])
    status: Status = "error" if whole else "warning"
    return Finding(
        "quarantine",
        status,
        f"{whole} ledger object(s) quarantined, {len(rows) - whole} event(s) not folded",
        "See each item's action. Quarantined objects stay in the ledger untouched.",
        details,
    )


PUSH_ACTIONS = {
    400: "Not a Pub/Sub push the function understands. Check what publishes to the topic, or "
    "what the subscription pushes (a no-wrapper subscription sends the raw body).",
    409: "The same message id arrived again with other content and was not applied (a "
    "forgery, or a publisher reusing ids). Its body is kept whole in its sensor.evaluated event; "
    "find out who sent it before re-publishing it under a new id.",
    404: "No sensor for this request: deploy the sensor bound to the subscription, or fix the "
    "push endpoint path /sensors/<name>. Re-publish the kept body once it exists.",
}


def _check_push_quarantine(rows: list[dict[str, Any]]) -> Finding:
    if not rows:
        return Finding("push", "ok", "no refused Pub/Sub pushes")
    details = [
        {
            "object": r["object_key"],
            "status": r["http_status"],
            "sensor": r["sensor"],
            "subscription": r["subscription"],
            "message_id": r["message_id"],
            "reason": r["reason"],
            "action": PUSH_ACTIONS.get(int(r["http_status"])),
        }
        for r in sorted(rows, key=lambda r: -int(r["received_ms"] or 0))[:50]
    ]
    return Finding(
        "push",
        "warning",
        f"{len(rows)} Pub/Sub push request(s) refused and kept under quarantine/push/",
        "Each refused request is kept whole (without its token). See each item's action.",
        details,
    )


def _check_pending(
    ws: Workspace, manifest: Manifest, ledger: list[str], folded: set[str]
) -> Finding:
    pending = [n for n in ledger if n not in folded]
    if not pending:
        return Finding("ledger", "ok", f"all {len(ledger)} ledger object(s) folded")
    floor = window_start(manifest.watermark, manifest.lookback_ms)
    late = [n for n in pending if is_ulid(n) and floor is not None and n <= floor]
    now = ws.clock.now_ms()
    oldest = min((ulid_time_ms(n) for n in pending if is_ulid(n)), default=now)
    if late:
        return Finding(
            "ledger",
            "error",
            f"{len(late)} ledger object(s) landed behind the compactor's window "
            "(a writer's clock was off by more than the lookback)",
            "Run `arco compact --sweep` to fold them, then fix the writer's clock.",
            late[:50],
        )
    return Finding(
        "ledger",
        "ok" if now - oldest < 60_000 else "warning",
        f"{len(pending)} ledger object(s) not compacted yet, oldest {(now - oldest) / 1000:.0f}s",
        "Run `arco compact`." if now - oldest >= 60_000 else None,
    )
