"""Hacker News, hourly: items fetched per hour feed comments and stories (the core group),
hourly activity statistics (analytics) and a story recommender (recommender).

Small and offline: the Hacker News client is a fake that makes each hour's items up from the
hour itself, so every run of a partition sees the same data. `definitions.py` holds `defs`.
"""
