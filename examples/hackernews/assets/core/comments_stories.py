"""Comments and stories: one pass over an hour's items makes both."""

from typing import Any

import arco as dg

from ...partitions import hourly_partitions

Rows = list[dict[str, Any]]


@dg.multi_asset(
    outs={
        "comments": dg.AssetOut(io_manager_key="hn_io_manager", description="Comments."),
        "stories": dg.AssetOut(io_manager_key="hn_io_manager", description="Stories."),
    },
    partitions_def=hourly_partitions,
)
def comments_and_stories(items: Rows) -> tuple[Rows, Rows]:
    """The hour's items, split by type."""
    comments = [row for row in items if row["type"] == "comment"]
    stories = [row for row in items if row["type"] == "story"]
    return comments, stories
