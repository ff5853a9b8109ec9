"""Jobs by group, and their schedules: the hourly ones run each hour once it has closed."""

import arco as dg

from .assets import ANALYTICS, CORE, RECOMMENDER
from .partitions import hourly_partitions

core_job = dg.define_asset_job(
    "core_job",
    selection=dg.AssetSelection.groups(CORE),
    partitions_def=hourly_partitions,
    tags={"team": "ingest"},
)
analytics_job = dg.define_asset_job(
    "analytics_job",
    selection=dg.AssetSelection.groups(ANALYTICS),
    partitions_def=hourly_partitions,
)
recommender_job = dg.define_asset_job(
    "recommender_job", selection=dg.AssetSelection.groups(RECOMMENDER)
)

core_schedule = dg.build_schedule_from_partitioned_job(core_job, minute_of_hour=5)
analytics_schedule = dg.build_schedule_from_partitioned_job(analytics_job, minute_of_hour=20)
recommender_schedule = dg.ScheduleDefinition(job=recommender_job, cron_schedule="0 6 * * *")
