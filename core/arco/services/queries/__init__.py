"""Queries: reads of the published state, answering views."""
