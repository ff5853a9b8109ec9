"""Ingest under load (issue 18): what a reader fetches per request must not grow with the rate.

- Loopback load: two writer processes (one per core) append one push evaluation per ledger
  object, as `sensor_push` instances do once a push is verified, as fast as they can for
  `SECONDS`, while this process compacts in a loop, as the compactor function would. Measured:
  the rate sustained, the manifest's size (what every reader fetches first) at its largest,
  the side object holding the window's names, and each event's latency from its append to the
  publish that made it visible (p50/p95).
- Simulation at 5,000 objects/s: the manifest a compaction writes when the 120-second window
  holds 600,000 names.
"""

from __future__ import annotations

import json
import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from arco.clock import SystemClock
from arco.domain.sensors import (
    SENSOR_EVALUATED,
    SensorEvaluated,
    SensorRunRequest,
    message_fingerprint,
    push_evaluation_key,
)
from arco.domain.ulid import encode_ulid
from arco.ledger.writer import NewEvent
from arco.projections.manifest import Manifest, recent_fields, recent_names
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore

SECONDS = 10.0
WRITERS = 2
MANIFEST_BUDGET = 16 * 1024
SIMULATED_RATE = 5_000
LOOKBACK_MS = 120_000


def _workspace(root: Path, source: str) -> Workspace:
    return Workspace(
        LocalObjectStore(root), "bench", clock=SystemClock(), lookback_ms=LOOKBACK_MS, source=source
    )


def _writer(root: str, index: int, seconds: float, out: str) -> None:
    ws = _workspace(Path(root), f"writer{index}")
    appended: list[tuple[str, float]] = []
    deadline = time.time() + seconds
    i = 0
    while time.time() < deadline:
        message = f"w{index}-{i}"
        event = SensorEvaluated(
            sensor="orders",
            kind="push",
            outcome="REQUESTED",
            message_id=message,
            run_requests=[SensorRunRequest(run_key=message, asset_selection=["a0"])],
        )
        key = push_evaluation_key("orders", None, message, message_fingerprint(None))
        result = ws.writer.append([NewEvent(SENSOR_EVALUATED, event, key)])
        appended.append((result.object_name, time.time()))
        i += 1
    Path(out).write_text(json.dumps(appended))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def loopback(seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        compactor = _workspace(root, "compactor")
        context = multiprocessing.get_context("fork")
        writers = [
            context.Process(target=_writer, args=(tmp, i, seconds, f"{tmp}/w{i}.json"))
            for i in range(WRITERS)
        ]
        for process in writers:
            process.start()
        published: list[tuple[int, float]] = []
        started = time.time()
        while any(p.is_alive() for p in writers):
            result = compactor.compactor.compact()
            if result.published:
                published.append((result.manifest_id, time.time()))
            else:
                time.sleep(0.02)
        for process in writers:
            process.join()
        while True:  # drain what the writers left
            result = compactor.compactor.compact()
            if not result.published:
                break
            published.append((result.manifest_id, time.time()))
        elapsed = time.time() - started
        appended: dict[str, float] = {}
        for i in range(WRITERS):
            appended.update(json.loads(Path(f"{tmp}/w{i}.json").read_text()))
        store, layout = compactor.store, compactor.layout
        visible: dict[str, float] = {}
        largest = largest_side = 0
        for manifest_id, at in published:
            stored = store.get(layout.manifest_key(manifest_id))
            assert stored is not None
            manifest = Manifest.model_validate_json(stored.data)
            largest = max(largest, len(stored.data))
            if manifest.recent_file is not None:
                largest_side = max(largest_side, manifest.recent_file.bytes)
            for name in recent_names(store, layout, manifest):
                visible.setdefault(name, at)
        latencies = [visible[n] - t for n, t in appended.items() if n in visible]
    return {
        "seconds": round(elapsed, 2),
        "writers": WRITERS,
        "objects": len(appended),
        "objects_per_second": round(len(appended) / seconds),
        "publishes": len(published),
        "largest_manifest_bytes": largest,
        "largest_side_object_bytes": largest_side,
        "visible": len(latencies),
        "latency_p50_seconds": round(statistics.median(latencies), 3),
        "latency_p95_seconds": round(_percentile(latencies, 0.95), 3),
    }


def simulated(rate: int) -> dict[str, Any]:
    """The manifest written when the window holds `rate` objects a second for its length."""
    names = sorted(
        encode_ulid(1_700_000_000_000 + i * 1000 // rate, i)
        for i in range(rate * LOOKBACK_MS // 1000)
    )
    with tempfile.TemporaryDirectory() as tmp:
        ws = _workspace(Path(tmp), "simulation")
        started = time.perf_counter()
        recent_objects, recent_file = recent_fields(ws.store, ws.layout, 1, names)
        manifest = Manifest(
            manifest_id=1,
            parent_id=0,
            workspace="bench",
            created_at="2024-01-01T00:00:00.000Z",
            compactor="simulation",
            watermark=names[-1],
            lookback_ms=LOOKBACK_MS,
            recent_objects=recent_objects,
            recent_file=recent_file,
        )
        written_s = time.perf_counter() - started
    return {
        "objects_per_second": rate,
        "names_in_window": len(names),
        "manifest_bytes": len(manifest.to_bytes()),
        "side_object_bytes": recent_file.bytes if recent_file else 0,
        "side_object_write_seconds": round(written_s, 3),
    }


def measure(quick: bool) -> dict[str, Any]:
    load = loopback(3.0 if quick else SECONDS)
    simulation = simulated(SIMULATED_RATE)
    return {
        "loopback": load,
        "simulation": simulation,
        "budgets": [
            {
                "name": f"manifest bytes under {load['objects_per_second']} objects/s (loopback)",
                "value": load["largest_manifest_bytes"],
                "budget": f"<= {MANIFEST_BUDGET}",
                "met": load["largest_manifest_bytes"] <= MANIFEST_BUDGET,
            },
            {
                "name": f"manifest bytes at {SIMULATED_RATE} objects/s (simulated window)",
                "value": simulation["manifest_bytes"],
                "budget": f"<= {MANIFEST_BUDGET}",
                "met": simulation["manifest_bytes"] <= MANIFEST_BUDGET,
            },
        ],
    }
