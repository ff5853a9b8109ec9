"""The code location: every group, its checks, jobs and schedules, and the resources of the
environment named by `HN_ENV` ("local" unless set)."""

import os

import arco as dg

from .assets import analytics_assets, core_assets, recommender_assets
from .checks import items_not_empty, stories_have_titles
from .jobs import analytics_schedule, core_schedule, recommender_schedule
from .resources import RESOURCES_BY_ENV

HN_ENV = os.getenv("HN_ENV", "local")

defs = dg.Definitions(
    assets=[*core_assets, *analytics_assets, *recommender_assets],
    asset_checks=[items_not_empty, stories_have_titles],
    schedules=[core_schedule, analytics_schedule, recommender_schedule],
    resources=RESOURCES_BY_ENV[HN_ENV],
)
