"""Arco: a serverless, event-sourced orchestration control plane on object storage."""

__version__ = "0.1.0"
