"""The shop after a change to revenue's code: its code version is "2" (used by `make demo`)."""

from __future__ import annotations

from examples.shop import build

defs = build(revenue_code_version="2")
