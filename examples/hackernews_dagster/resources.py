"""Resources per environment: a fake Hacker News client, and where the core values are kept.

`definitions.py` picks one set by the `HN_ENV` environment variable ("local" by default).
"""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
USERS = ("ada", "bob", "cyd", "dee", "eve")
IDS_PER_HOUR = 100  # item ids are hour * 100 + n


class HNClient(dg.ConfigurableResource):
    """A stand-in for the Hacker News API that needs no network: the items of an hour are made
    up from the hour itself, so every run of a partition sees the same items. Every third item
    of an hour is a story; the others are comments on the story before them."""

    api_token: str
    items_per_hour: int = 6
    maintenance_hour: int = 3  # the API answers nothing for this hour of every day (UTC)

    def item_ids(self, start: datetime, end: datetime) -> list[int]:
        """The ids of the items posted in [start, end)."""
        if not self.api_token:
            raise ValueError("HNClient needs an API token (HN_API_TOKEN)")
        ids: list[int] = []
        hour = start.astimezone(UTC)
        while hour < end:
            if hour.hour != self.maintenance_hour:
                first = int((hour - EPOCH).total_seconds()) // 3600 * IDS_PER_HOUR
                ids.extend(range(first, first + self.items_per_hour))
            hour += timedelta(hours=1)
        return ids

    def fetch_item(self, item_id: int) -> dict[str, Any]:
        hour, n = divmod(item_id, IDS_PER_HOUR)
        item: dict[str, Any] = {
            "id": item_id,
            "by": USERS[(item_id + n * n) % len(USERS)],
            "time": (EPOCH + timedelta(hours=hour, minutes=n)).isoformat(),
        }
        if n % 3 == 0:
            return {**item, "type": "story", "title": f"Story {item_id}", "score": item_id % 97}
        story = item_id - n % 3
        return {**item, "type": "comment", "parent": story, "text": f"Re: story {story}"}


class LocalJSONIOManager(dg.ConfigurableIOManager):
    """Values as JSON files under `base_dir`: `<asset key path>/<partition>.json`."""

    base_dir: str = "hn_data"

    def _path(self, key: dg.AssetKey, partition: str | None) -> Path:
        return Path(self.base_dir, *key.path, f"{partition or '__all__'}.json")

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        partition = context.partition_key if context.has_partition_key else None
        path = self._path(context.asset_key, partition)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(obj, indent=1, sort_keys=True))
        context.add_output_metadata({"path": dg.MetadataValue.path(str(path))})

    def load_input(self, context: dg.InputContext) -> Any:
        if not context.has_asset_partitions:
            return json.loads(self._path(context.asset_key, None).read_text())
        keys = context.asset_partition_keys
        if context.has_partition_key and context.partition_key in keys:
            # The reader's own hour: an hourly asset, or a check in the run of that hour.
            return json.loads(self._path(context.asset_key, context.partition_key).read_text())
        # Many hours (an unpartitioned reader): those stored, by partition key.
        folder = self._path(context.asset_key, "any").parent
        stored = {path.stem: path for path in folder.glob("*.json")}
        return {key: json.loads(stored[key].read_text()) for key in keys if key in stored}


RESOURCES_BY_ENV: dict[str, dict[str, Any]] = {
    "local": {
        "hn_client": HNClient(api_token=dg.EnvVar("HN_API_TOKEN")),
        "hn_io_manager": LocalJSONIOManager(base_dir="hn_data"),
    },
    "production": {
        "hn_client": HNClient(api_token=dg.EnvVar("HN_API_TOKEN"), items_per_hour=30),
        "hn_io_manager": dg.FilesystemIOManager(base_dir="/var/lib/hackernews"),
    },
}
