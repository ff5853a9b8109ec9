"""Names are checked whole: a trailing newline is refused everywhere. (`$` in a Python regular
expression also matches before a final newline: `abc\\n` passed every `^...$` check.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from arco.domain.definitions import (
    AssetNode,
    SensorNode,
    validate_asset_key,
    validate_schedule_name,
    validate_tags,
)
from arco.domain.errors import InvalidInput
from arco.domain.partitions import (
    DynamicPartitionsDefinition,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
)
from arco.domain.ulid import is_ulid
from arco.storage.url import open_store

ULID = "01HNJ3RX109VKYZTW7MZGWGVRE"


@pytest.mark.parametrize(
    "check",
    [
        validate_asset_key,
        lambda v: validate_asset_key(f"{v}/b"),
        validate_schedule_name,
        lambda v: validate_tags({v: "x"}, "asset 'a'"),
        lambda v: AssetNode("a", compute="m:a", group=v),
        lambda v: AssetNode("a", compute=f"m:{v}"),
        DynamicPartitionsDefinition,
        lambda v: SensorNode(
            name="s", kind="push", target=("a",), subscription=f"projects/my-proj/subscriptions/{v}"
        ),
        lambda v: MultiPartitionsDefinition(
            {v: StaticPartitionsDefinition(["x"]), "b": StaticPartitionsDefinition(["y"])}
        ),
    ],
)
def test_a_name_with_a_trailing_newline_is_refused(check: Any) -> None:
    check("abc")  # the name itself is fine
    with pytest.raises(InvalidInput):
        check("abc\n")


def test_a_ulid_with_a_trailing_newline_is_not_a_ulid() -> None:
    assert is_ulid(ULID) and not is_ulid(ULID + "\n")


@pytest.mark.parametrize("url", ["gs://my-bucket\n", "s3://my-bucket\n"])
def test_a_bucket_name_with_a_trailing_newline_is_refused(url: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=re.escape("bad bucket name")):
        open_store(url)


def test_an_idempotency_key_with_a_trailing_newline_is_refused(tmp_path: Path) -> None:
    from arco.domain.settings import SETTING_CHANGED, SettingChanged, setting_idempotency_key
    from arco.ledger.writer import NewEvent
    from arco.services.workspace import Workspace
    from arco.storage.memory import MemoryObjectStore

    ws = Workspace(MemoryObjectStore(), "default")
    event = SettingChanged(name="runs.max_in_flight", value=3, changed_by="t", request_id="r")
    key = setting_idempotency_key("runs.max_in_flight", "r")
    with pytest.raises(InvalidInput, match="invalid idempotency key"):
        ws.writer.append([NewEvent(SETTING_CHANGED, event, key + "\n")])
    assert list(ws.store.list(ws.layout.ledger_prefix)) == []
    ws.writer.append([NewEvent(SETTING_CHANGED, event, key)])
