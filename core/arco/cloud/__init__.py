"""Adapters for cloud services other than object storage (Cloud Tasks)."""
