"""Hourly activity statistics over the core comments and stories."""
