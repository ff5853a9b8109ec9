"""Where every object of a workspace lives inside a store. Pure key builders.

    workspaces/<ws>/ledger/<ULID>.json                          append-only events
    workspaces/<ws>/state/pointer.json                          the one mutable object (CAS)
    workspaces/<ws>/state/manifests/<20-digit id>.json          immutable manifests
    workspaces/<ws>/state/tables/<table>/<id>.<kind>.<sha12>.parquet   immutable table files
    workspaces/<ws>/reservations/run_keys/<sha256>.json         run_key reservations (create-once)
    workspaces/<ws>/reservations/backfills/<sha256>.json        backfill Idempotency-Keys
    workspaces/<ws>/logs/<run id>/<task>/<attempt>/<ULID>.jsonl  what asset functions logged
    workspaces/<ws>/claims/<run id>/<task>/<attempt>.json       an attempt taken by a worker
    workspaces/<ws>/quarantine/push/<sha256>.json               push requests sensor_push refused

Workspaces share a bucket without seeing each other: every key starts with its own prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

from arco.domain.names import validate_key_component, validate_workspace

LEDGER_SUFFIX = ".json"


@dataclass(frozen=True, slots=True)
class WorkspaceLayout:
    workspace: str

    def __post_init__(self) -> None:
        validate_workspace(self.workspace)

    @property
    def root(self) -> str:
        return f"workspaces/{self.workspace}/"

    @property
    def ledger_prefix(self) -> str:
        return f"{self.root}ledger/"

    def ledger_key(self, object_name: str) -> str:
        return f"{self.ledger_prefix}{object_name}{LEDGER_SUFFIX}"

    def object_name(self, key: str) -> str:
        """The ledger object name (normally a ULID) of a ledger key."""
        name = key[len(self.ledger_prefix) :]
        return name[: -len(LEDGER_SUFFIX)] if name.endswith(LEDGER_SUFFIX) else name

    @property
    def state_prefix(self) -> str:
        return f"{self.root}state/"

    @property
    def pointer_key(self) -> str:
        return f"{self.state_prefix}pointer.json"

    @property
    def manifests_prefix(self) -> str:
        return f"{self.state_prefix}manifests/"

    def manifest_key(self, manifest_id: int) -> str:
        return f"{self.manifests_prefix}{manifest_id:020d}.json"

    def recent_key(self, manifest_id: int, digest: str) -> str:
        """The side object with the names a manifest's compaction folded inside its window."""
        return f"{self.manifests_prefix}{manifest_id:020d}.recent.{digest[:12]}.json.gz"

    @property
    def tables_prefix(self) -> str:
        return f"{self.state_prefix}tables/"

    def table_file_key(self, table: str, manifest_id: int, kind: str, digest: str) -> str:
        validate_key_component(table, "table name")
        return f"{self.tables_prefix}{table}/{manifest_id:020d}.{kind}.{digest[:12]}.parquet"

    def run_key_reservation_key(self, name: str) -> str:
        validate_key_component(name, "reservation name")
        return f"{self.root}reservations/run_keys/{name}"

    def backfill_reservation_key(self, name: str) -> str:
        validate_key_component(name, "reservation name")
        return f"{self.root}reservations/backfills/{name}"

    def run_logs_prefix(self, run_id: str) -> str:
        validate_key_component(run_id, "run id")
        return f"{self.root}logs/{run_id}/"

    def task_log_key(self, run_id: str, task: int, attempt: int, execution_id: str) -> str:
        validate_key_component(execution_id, "execution id")
        return f"{self.run_logs_prefix(run_id)}{task}/{attempt}/{execution_id}.jsonl"

    @property
    def claims_prefix(self) -> str:
        return f"{self.root}claims/"

    def attempt_claim_key(self, run_id: str, task: int, attempt: int) -> str:
        """Created (create-once) by the worker that runs this attempt, before user code runs."""
        return (
            f"{self.claims_prefix}{validate_key_component(run_id, 'run id')}/{task}/{attempt}.json"
        )

    def push_quarantine_key(self, digest: str) -> str:
        """Where `sensor_push` keeps a refused request whole (named by its body's SHA-256)."""
        validate_key_component(digest, "digest")
        return f"{self.root}quarantine/push/{digest}.json"
