"""The three groups, each loaded from its package: the group name, and a key prefix for the
assets loaded together (their dependencies on each other are prefixed too)."""

import arco as dg

from . import analytics, core, recommender

CORE = "core"
ANALYTICS = "analytics"
RECOMMENDER = "recommender"

core_assets = dg.load_assets_from_package_module(core, group_name=CORE, key_prefix=["hn", CORE])
# Analytics assets carry their key prefix themselves: their bare input names (`comment_stats`)
# resolve to the one asset of that name in their group.
analytics_assets = dg.load_assets_from_package_module(analytics, group_name=ANALYTICS)
recommender_assets = dg.load_assets_from_package_module(
    recommender, group_name=RECOMMENDER, key_prefix=["hn", RECOMMENDER]
)
