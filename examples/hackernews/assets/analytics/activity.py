"""Per-hour statistics of comments and stories, and both together."""

from typing import Any

import arco as dg

from ...partitions import hourly_partitions

Rows = list[dict[str, Any]]
PREFIX = ["hn", "analytics"]


@dg.asset(
    key_prefix=PREFIX,
    partitions_def=hourly_partitions,
    ins={"comments": dg.AssetIn(key=["hn", "core", "comments"])},
)
def comment_stats(comments: Rows) -> dict[str, int]:
    """How many comments the hour had, and from how many people."""
    return {"comments": len(comments), "commenters": len({row["by"] for row in comments})}


@dg.asset(
    key_prefix=PREFIX,
    partitions_def=hourly_partitions,
    ins={"stories": dg.AssetIn(key=["hn", "core", "stories"])},
)
def story_stats(stories: Rows) -> dict[str, int]:
    """How many stories the hour had, and the best score among them."""
    return {"stories": len(stories), "top_score": max((row["score"] for row in stories), default=0)}


@dg.asset(key_prefix=PREFIX, partitions_def=hourly_partitions)
def activity_stats(
    context: dg.AssetExecutionContext, comment_stats: dict[str, int], story_stats: dict[str, int]
) -> dg.Output[dict[str, Any]]:
    """Both statistics of the hour in one row."""
    row: dict[str, Any] = {"hour": context.partition_key, **comment_stats, **story_stats}
    table = "\n".join(f"| {key} | {value} |" for key, value in row.items())
    return dg.Output(row, metadata={"row": dg.MetadataValue.md(f"| | |\n|-|-|\n{table}")})
