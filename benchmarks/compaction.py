"""Compaction benchmarks on the local-directory store."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from arco.domain.settings import SETTING_CHANGED
from arco.domain.tables import ROW_VERSION
from arco.domain.ulid import encode_ulid
from arco.ledger.writer import NewEvent
from arco.projections.manifest import Manifest, Pointer, TableEntry
from arco.projections.table_files import write_base
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore


def _events(batch: int, size: int) -> list[NewEvent]:
    return [
        NewEvent(
            SETTING_CHANGED,
            {
                "name": "runs.max_in_flight",
                "value": i,
                "changed_by": "bench",
                "request_id": f"b{batch}e{i}",
            },
            f"setting:runs.max_in_flight:b{batch}e{i}",
        )
        for i in range(size)
    ]


def throughput(quick: bool) -> dict[str, Any]:
    """100k events in 1k-event ledger objects: append, then compact until idle."""
    batches, size = (20, 1000) if quick else (100, 1000)
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(LocalObjectStore(Path(tmp)), "bench", source="bench")
        started = time.perf_counter()
        for b in range(batches):
            ws.writer.append(_events(b, size))
        append_s = time.perf_counter() - started
        started = time.perf_counter()
        steps = ws.compactor.compact_until_idle()
        compact_s = time.perf_counter() - started
    events = batches * size
    assert sum(s.fold.events_applied for s in steps) == events
    rate = events / compact_s
    return {
        "events": events,
        "objects": batches,
        "append_seconds": round(append_s, 3),
        "append_events_per_second": round(events / append_s),
        "compaction_seconds": round(compact_s, 3),
        "compaction_steps": len(steps),
        "compaction_events_per_second": round(rate),
        "budgets": [
            {
                "name": "compaction events/s (100k events, 1k-event batches)",
                "value": round(rate),
                "budget": ">= 20000",
                "met": rate >= 20_000,
            }
        ],
    }


def _seed_state(ws: Workspace, rows: int) -> None:
    """Publish manifest 1 holding `rows` idempotency keys (what `rows` folded events leave)."""
    spec = ws.registry.table("idempotency_keys")
    table = {}
    for i in range(rows):
        event_id = encode_ulid(1_700_000_000_000 + i // 1000, i)
        key = f"seed:{i:09d}"
        table[(key,)] = {
            "idempotency_key": key,
            "event_id": event_id,
            "event_type": SETTING_CHANGED,
            ROW_VERSION: event_id,
        }
    entry = write_base(ws.store, ws.layout, 1, spec, table)
    manifest = Manifest(
        manifest_id=1,
        parent_id=0,
        workspace=ws.name,
        created_at="2026-01-01T00:00:00.000Z",
        compactor="seed",
        watermark=None,
        lookback_ms=ws.lookback_ms,
        tables={"idempotency_keys": entry},
        events_total=rows,
    )
    ws.store.create(ws.layout.manifest_key(1), manifest.to_bytes())
    ws.store.create(
        ws.layout.pointer_key,
        Pointer(
            manifest_id=1, manifest_key=ws.layout.manifest_key(1), updated_at=manifest.created_at
        ).to_bytes(),
    )


def incremental(quick: bool) -> dict[str, Any]:
    """Time of compacting 1,000 new events on states of 10k, 100k and 1M rows."""
    sizes = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    steps = 5 if quick else 20
    per_size = []
    for rows in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            ws = Workspace(LocalObjectStore(Path(tmp)), "bench", source="bench")
            _seed_state(ws, rows)
            ws.writer.append(_events(0, 1000))
            started = time.perf_counter()
            ws.compactor.compact()  # cold: loads the whole state once
            cold = time.perf_counter() - started
            timings = []
            for step in range(1, steps + 1):
                ws.writer.append(_events(step, 1000))
                started = time.perf_counter()
                result = ws.compactor.compact()
                timings.append(time.perf_counter() - started)
                assert result.fold.events_applied == 1000
            started = time.perf_counter()
            reader = Workspace(ws.store, "bench")
            reader.snapshot().table("idempotency_keys")
            cold_read = time.perf_counter() - started
            entry: TableEntry = ws.manifest().tables["idempotency_keys"]
        per_size.append(
            {
                "state_rows": rows,
                "cold_first_compaction_seconds": round(cold, 4),
                "incremental_median_seconds": round(statistics.median(timings), 4),
                "incremental_mean_seconds": round(statistics.mean(timings), 4),
                "incremental_max_seconds": round(max(timings), 4),
                "steps": steps,
                "delta_files_at_end": len(entry.deltas),
                "cold_reader_load_seconds": round(cold_read, 4),
            }
        )
    small, large = per_size[0], per_size[-1]
    growth = large["incremental_median_seconds"] / small["incremental_median_seconds"]
    growth_mean = large["incremental_mean_seconds"] / small["incremental_mean_seconds"]
    return {
        "new_events_per_compaction": 1000,
        "sizes": per_size,
        "growth_median": round(growth, 2),
        "growth_mean": round(growth_mean, 2),
        "budgets": [
            {
                "name": f"incremental compaction growth {small['state_rows']} -> "
                f"{large['state_rows']} rows (median)",
                "value": round(growth, 2),
                "budget": "<= 2.0",
                "met": growth <= 2.0,
            }
        ],
    }
