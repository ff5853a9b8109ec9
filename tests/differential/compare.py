"""Comparing answers: cases are cut into facets (one comparable question each), every
disagreement is matched against the named list in `known.py`, and the figures per family are
kept for the summary printed at the end of the session.

A facet agrees when both sides give the same value, or both refuse (an error on each side:
the messages are not compared). A disagreement is *deliberate* (a listed difference with its
ADR 0008 entry), a *known bug* (listed with its reproduction until Arco is fixed), or *new*,
which fails the test.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Case = Mapping[str, Any]


@dataclass
class Facet:
    """One question of one case: what Dagster and Arco answered (`{"ok": value}` or
    `{"error": message}`)."""

    family: str
    case: Case
    name: str
    dagster: Any
    arco: Any
    extra: Mapping[str, Any] = field(default_factory=dict)
    # A facet computed from another one (the last key, from the key list): when that one
    # disagrees for a listed reason, this one's disagreement has the same reason.
    derived_from: str | None = None

    @property
    def agrees(self) -> bool:
        return normal(self.dagster) == normal(self.arco)

    @property
    def d(self) -> Any:
        """Dagster's value (None if it refused)."""
        return self.dagster.get("ok") if isinstance(self.dagster, Mapping) else None

    @property
    def a(self) -> Any:
        """Arco's value (None if it refused)."""
        return self.arco.get("ok") if isinstance(self.arco, Mapping) else None

    @property
    def d_error(self) -> bool:
        return isinstance(self.dagster, Mapping) and "error" in self.dagster

    @property
    def a_error(self) -> bool:
        return isinstance(self.arco, Mapping) and "error" in self.arco

    def describe(self) -> str:
        shown = {k: v for k, v in self.case.items() if k not in ("family",)}
        return (
            f"{self.case['id']} [{self.name}]\n"
            f"    case:    {_short(shown, 1200)}\n"
            f"    extra:   {_short(dict(self.extra), 300)}\n"
            f"    dagster: {_short(self.dagster, 1200)}\n"
            f"    arco:    {_short(self.arco, 1200)}"
        )


def _short(value: Any, limit: int) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def normal(answer: Any) -> Any:
    if isinstance(answer, Mapping) and "error" in answer:
        return ("error",)
    if isinstance(answer, Mapping) and "ok" in answer:
        return ("ok", json.dumps(answer["ok"], sort_keys=True))
    return ("raw", json.dumps(answer, sort_keys=True, default=str))


def ok(value: Any) -> dict[str, Any]:
    return {"ok": value}


# --------------------------------------------------------------------------- classification


@dataclass(frozen=True)
class Known:
    """A listed disagreement. `applies` must recognise it precisely (re-deriving Dagster's
    answer where it can), so that it never hides another difference."""

    name: str
    family: str
    kind: str  # "deliberate" or "bug"
    reference: str  # the ADR 0008 entry (deliberate), or where the bug is (bug)
    summary: str
    applies: Callable[[Facet], bool]
    # False when Dagster's answer depends on the day the suite runs (the entry may then
    # match nothing, and that is fine).
    must_match: bool = True


@dataclass
class Tally:
    cases: int = 0
    facets: int = 0
    agreed: int = 0
    deliberate: Counter[str] = field(default_factory=Counter)
    bugs: Counter[str] = field(default_factory=Counter)
    new: list[Facet] = field(default_factory=list)
    examples: dict[str, Facet] = field(default_factory=dict)


TALLIES: dict[str, Tally] = {}


def classify(facets: Iterable[Facet], known: Iterable[Known], family: str) -> Tally:
    """Sort every facet into agreed / deliberate / bug / new; remember the figures."""
    entries = [k for k in known if k.family == family]
    tally = TALLIES.setdefault(family, Tally())
    by_case: dict[str, dict[str, str]] = {}
    seen_cases: set[str] = set()
    for facet in facets:
        seen_cases.add(facet.case["id"])
        tally.facets += 1
        if facet.agrees:
            tally.agreed += 1
            continue
        label = None
        if facet.derived_from is not None:
            label = by_case.get(facet.case["id"], {}).get(facet.derived_from)
        if label is None:
            for entry in entries:
                if entry.applies(facet):
                    label = entry.name
                    break
        if label is None:
            tally.new.append(facet)
            continue
        by_case.setdefault(facet.case["id"], {})[facet.name] = label
        entry = next(k for k in entries if k.name == label)
        (tally.bugs if entry.kind == "bug" else tally.deliberate)[label] += 1
        tally.examples.setdefault(label, facet)
    tally.cases += len(seen_cases)
    return tally


STRICT = bool(os.environ.get("ARCO_DIFFERENTIAL_STRICT"))


def check(tally: Tally, known: Iterable[Known], family: str) -> None:
    """Fail on new disagreements; on listed entries that no longer match anything (the list
    must stay true); and, with ARCO_DIFFERENTIAL_STRICT set, on known bugs."""
    problems = []
    if tally.new:
        shown = "\n".join(f.describe() for f in tally.new[:15])
        more = f"\n... and {len(tally.new) - 15} more" if len(tally.new) > 15 else ""
        problems.append(
            f"{len(tally.new)} new disagreement(s) with Dagster in {family!r}: fix Arco, or "
            "list a deliberate difference (tests/differential/known.py, "
            f"docs/parity/differential.md, ADR 0008):\n{shown}{more}"
        )
    for entry in known:
        if entry.family != family or not entry.must_match:
            continue
        if not tally.deliberate[entry.name] and not tally.bugs[entry.name]:
            what = "fixed? remove the entry" if entry.kind == "bug" else "remove or update it"
            problems.append(f"listed difference {entry.name!r} no longer occurs ({what})")
    if STRICT and tally.bugs:
        for name, count in tally.bugs.items():
            problems.append(
                f"known bug {name!r} ({count} disagreements):\n{tally.examples[name].describe()}"
            )
    assert not problems, "\n\n".join(problems)


def summary_lines() -> list[str]:
    lines = [
        f"{'family':<22}{'cases':>7}{'compared':>10}{'agreed':>9}{'deliberate':>12}"
        f"{'known bugs':>12}{'new':>6}"
    ]
    for family, t in TALLIES.items():
        lines.append(
            f"{family:<22}{t.cases:>7}{t.facets:>10}{t.agreed:>9}"
            f"{sum(t.deliberate.values()):>12}{sum(t.bugs.values()):>12}{len(t.new):>6}"
        )
    for family, t in TALLIES.items():
        for name, count in sorted({**t.deliberate, **t.bugs}.items()):
            kind = "bug" if name in t.bugs else "deliberate"
            lines.append(f"  {family}: {kind} {name}: {count}")
    return lines
