"""Every item posted in the hour of the partition."""

from typing import Any

import arco as dg

from ...partitions import hourly_partitions
from ...resources import HNClient


class ItemsConfig(dg.Config):
    """How many items of an hour to keep (the API's own page size caps them too)."""

    max_items: int = 100


@dg.asset(
    partitions_def=hourly_partitions,
    io_manager_key="hn_io_manager",
    kinds={"python"},
    metadata={"source": dg.MetadataValue.url("https://github.com/HackerNews/API")},
)
def items(
    context: dg.AssetExecutionContext, config: ItemsConfig, hn_client: HNClient
) -> dg.Output[list[dict[str, Any]]]:
    """Items (stories and comments) posted in the partition's hour."""
    start, end = context.partition_time_window
    ids = hn_client.item_ids(start, end)[: config.max_items]
    context.log.info("fetching %d items posted %s .. %s", len(ids), start, end)
    rows = [hn_client.fetch_item(item_id) for item_id in ids]
    return dg.Output(
        rows,
        metadata={
            "item_count": dg.MetadataValue.int(len(rows)),
            "max_items": config.max_items,
            "window": dg.MetadataValue.text(f"{start.isoformat()} .. {end.isoformat()}"),
            "ids": dg.MetadataValue.json({"first": ids[:1], "last": ids[-1:]}),
        },
    )
