"""A compactor process for the concurrency test: compacts until `--events` are folded."""

from __future__ import annotations

import argparse
import json
import sys
import time

from arco.domain.errors import ConflictError
from arco.services.workspace import Workspace
from arco.storage.url import open_store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", required=True)
    parser.add_argument("--workspace", default="default")
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    ws = Workspace(open_store(args.store), args.workspace, source="compact-loop")
    ws.compactor.max_objects = 37  # small steps: more races
    published: list[int] = []
    lost = 0
    ws.manifest()  # warm up the client before saying we are ready
    print("ready", flush=True)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            result = ws.compactor.compact()
        except ConflictError:
            lost += ws.compactor.max_attempts
            continue
        lost += result.attempts - 1
        if result.published:
            published.append(result.manifest_id)
        elif ws.manifest().events_total >= args.events:
            break
        else:
            time.sleep(0.02)
    json.dump({"published": published, "lost_races": lost}, sys.stdout)


if __name__ == "__main__":
    main()
