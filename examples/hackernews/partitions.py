"""The partitions the hourly assets share."""

import arco as dg

hourly_partitions = dg.HourlyPartitionsDefinition(start_date="2024-06-01-00:00")
