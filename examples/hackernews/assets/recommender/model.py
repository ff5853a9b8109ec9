"""From comments to recommendations: who commented on which story, a user x story matrix,
a popularity model, and each user's top stories not yet commented on."""

from collections import Counter
from typing import Any

import arco as dg

Rows = list[dict[str, Any]]
Matrix = dict[str, dict[str, int]]
TOP = 3


@dg.asset(
    ins={
        "comments": dg.AssetIn(key=["hn", "core", "comments"]),
        "stories": dg.AssetIn(key=["hn", "core", "stories"]),
    }
)
def comment_stories(comments: dict[str, Rows], stories: dict[str, Rows]) -> Rows:
    """(user, story) for every comment on a known story, over every hour stored."""
    known = {row["id"] for hour in stories.values() for row in hour}
    return [
        {"user": row["by"], "story": row["parent"]}
        for hour in sorted(comments)
        for row in comments[hour]
        if row["parent"] in known
    ]


@dg.asset
def user_story_matrix(comment_stories: Rows) -> Matrix:
    """How many times each user commented on each story."""
    matrix: Matrix = {}
    for pair in comment_stories:
        stories = matrix.setdefault(pair["user"], {})
        stories[str(pair["story"])] = stories.get(str(pair["story"]), 0) + 1
    return matrix


@dg.asset
def recommender_model(user_story_matrix: Matrix) -> dg.Output[dict[str, int]]:
    """Story popularity: how many users commented on each story."""
    popularity = Counter(story for stories in user_story_matrix.values() for story in stories)
    model = dict(sorted(popularity.items()))
    return dg.Output(
        model,
        metadata={
            "users": len(user_story_matrix),
            "stories": len(model),
            "most_popular": dg.MetadataValue.json(popularity.most_common(TOP)),
        },
    )


@dg.asset
def user_top_recommended_stories(
    recommender_model: dict[str, int], user_story_matrix: Matrix
) -> dict[str, list[str]]:
    """For each user, the most popular stories they have not commented on yet."""
    ranked = sorted(recommender_model, key=lambda story: (-recommender_model[story], story))
    return {
        user: [story for story in ranked if story not in seen][:TOP]
        for user, seen in sorted(user_story_matrix.items())
    }
