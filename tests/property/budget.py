"""Example budgets of the property tests, scaled by the loaded hypothesis profile.

A test asks for `examples(n)`: n examples under the ci profile (what `make test` runs) and
under dev, and as many times more under fuzz as the fuzz profile has examples per ci example
(see the profiles in tests/conftest.py).
"""

from __future__ import annotations

from typing import Any

from hypothesis import settings


def examples(ci: int, **other: Any) -> settings:
    """Settings with `ci` examples, scaled by the loaded profile, no deadline (examples of the
    simulated ledgers take milliseconds to hundreds of them), and any `other` setting."""
    scale = settings().max_examples / settings.get_profile("ci").max_examples
    other.setdefault("deadline", None)
    return settings(max_examples=max(1, round(ci * scale)), **other)
