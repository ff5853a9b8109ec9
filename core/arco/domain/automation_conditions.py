"""Declarative automation conditions: Dagster's `AutomationCondition` as a pure, frozen tree.

An asset's condition says when the timer should request it. It is built from Dagster's
operands (`missing()`, `newly_updated()`, `cron_tick_passed(...)`...) and operators (`&`, `|`,
`~`, `.since()`, `.newly_true()`, `any_deps_match(...)`...), or from the composites
`eager()`, `on_cron(...)` and `on_missing()`, whose structure is Dagster 1.13's, node for node.

The tree compiles to canonical JSON in the definitions snapshot (`to_json` / `from_json`) and
is evaluated by `automation_evaluation`. Nodes that remember something between evaluations
(`since`, `newly_true`, `code_version_changed`) are named by `memory_ids`: a hash of the node's
own structure and an occurrence number, never of labels or of its position, so an edit that
wraps, reorders or relabels a condition keeps its memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from arco.domain.cron import CronSchedule, validate_timezone
from arco.domain.errors import InvalidInput

__all__ = [
    "OPERANDS",
    "STATEFUL",
    "AutomationCondition",
    "Path",
    "deps_depth",
    "memory_ids",
    "misplaced_check_operand",
    "structure",
]

# Leaves: facts about one asset (or one dependency, inside `any_deps_match`).
OPERANDS = frozenset(
    {
        "missing",
        "run_in_progress",
        "backfill_in_progress",
        "execution_failed",
        "newly_updated",
        "newly_requested",
        "will_be_requested",
        "initial_evaluation",
        "in_latest_time_window",
        "cron_tick_passed",
        "code_version_changed",
        "executed_with_root_target",
        "any_downstream_conditions",
        "check_passed",
        "check_failed",
        "executed_with_tags",
    }
)
_CHECKS = frozenset({"any_checks", "all_checks"})
_OPERATORS = frozenset(
    {"and", "or", "not", "since", "newly_true", "any_deps", "all_deps", *_CHECKS}
)
# What a condition on an asset's checks may hold (Dagster's check-scoped conditions that Arco
# evaluates): a check runs with its asset, so nothing else describes a check.
_CHECK_SCOPE = frozenset({"check_passed", "check_failed", "will_be_requested", "and", "or", "not"})
# Nodes whose result depends on their own previous result.
STATEFUL = frozenset({"since", "newly_true", "code_version_changed"})
_MAX_DEPTH = 64
_MAX_NODES = 2_000
_MAX_LABEL = 200
_FIELDS = (
    "label",
    "cron",
    "timezone",
    "lookback_seconds",
    "allow_selection",
    "ignore_selection",
    "blocking_only",
    "tag_keys",
    "tag_values",
)


def _selection_text(selection: object, what: str) -> str:
    """A selection as Arco's selection string: a string, a domain `Selection`, or the SDK's
    `AssetSelection` (anything whose `selection` attribute is one)."""
    from arco.domain.selection import Selection, parse_selection  # imports definitions

    inner = getattr(selection, "selection", selection)
    if isinstance(inner, Selection):
        return str(inner)
    if isinstance(inner, str):
        return str(parse_selection(inner))
    raise InvalidInput(f"{what} takes an asset selection, not {type(selection).__name__}")


class _Derived:
    """What a condition node derives from its subtree once, when it is built (trees are
    immutable and shared by the assets that use them: 10,000 assets read these at every
    evaluation). Not dataclass fields: `__post_init__` sets them, outside equality and repr."""

    _depth: int
    _kinds: frozenset[str]
    _deps_depth: int
    _misplaced: str | None
    _clocked: tuple[AutomationCondition, ...]


@dataclass(frozen=True)
class AutomationCondition(_Derived):
    """One node of a condition tree. Build trees with the static constructors and operators
    (`AutomationCondition.eager()`, `a & b`, `~a`, `a.since(b)`), as in Dagster."""

    kind: str
    operands: tuple[AutomationCondition, ...] = ()
    label: str | None = None
    cron: str | None = None
    timezone: str | None = None
    lookback_seconds: float | None = None
    allow_selection: str | None = None
    ignore_selection: str | None = None
    blocking_only: bool | None = None  # checks operators: only the blocking checks
    # executed_with_tags: tag keys the run must have, sorted, and (key, value) pairs, sorted
    tag_keys: tuple[str, ...] | None = None
    tag_values: tuple[tuple[str, str], ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in OPERANDS and self.kind not in _OPERATORS:
            raise InvalidInput(f"unknown automation condition {self.kind!r}")
        if not all(isinstance(o, AutomationCondition) for o in self.operands):
            raise InvalidInput(
                f"automation condition {self.kind!r}: operands must be AutomationConditions"
            )
        expected = {
            "not": 1,
            "newly_true": 1,
            "any_deps": 1,
            "all_deps": 1,
            "any_checks": 1,
            "all_checks": 1,
            "since": 2,
        }
        if self.kind in expected and len(self.operands) != expected[self.kind]:
            raise InvalidInput(
                f"automation condition {self.kind!r} takes {expected[self.kind]} operand(s)"
            )
        if self.kind in ("and", "or") and not self.operands:
            raise InvalidInput(f"automation condition {self.kind!r} needs operands")
        if self.kind in OPERANDS and self.operands:
            raise InvalidInput(f"automation condition {self.kind!r} takes no operands")
        if self.label is not None and (
            not isinstance(self.label, str) or not self.label or len(self.label) > _MAX_LABEL
        ):
            raise InvalidInput(f"an automation condition label must be 1-{_MAX_LABEL} characters")
        if self.kind == "cron_tick_passed":
            if not isinstance(self.cron, str):
                raise InvalidInput("cron_tick_passed needs a cron string")
            CronSchedule.parse(self.cron)
            validate_timezone(self.timezone or "UTC")
        elif self.cron is not None or self.timezone is not None:
            raise InvalidInput(f"automation condition {self.kind!r} takes no cron schedule")
        if self.lookback_seconds is not None and (
            self.kind != "in_latest_time_window"
            or isinstance(self.lookback_seconds, bool)
            or not isinstance(self.lookback_seconds, int | float)
            or self.lookback_seconds <= 0
        ):
            raise InvalidInput("in_latest_time_window's lookback must be a positive duration")
        if (
            self.allow_selection is not None or self.ignore_selection is not None
        ) and self.kind not in (
            "any_deps",
            "all_deps",
        ):
            raise InvalidInput("only dependency conditions hold allow/ignore selections")
        if self.blocking_only is not None and (
            self.kind not in _CHECKS or not isinstance(self.blocking_only, bool)
        ):
            raise InvalidInput("only any_checks_match and all_checks_match take blocking_only")
        if (self.tag_keys is not None or self.tag_values is not None) and (
            self.kind != "executed_with_tags"
        ):
            raise InvalidInput("only executed_with_tags takes tag_keys and tag_values")
        if self.tag_keys is not None:
            keys = self.tag_keys
            if not isinstance(keys, list | tuple | set | frozenset) or not all(
                isinstance(k, str) and k for k in keys
            ):
                raise InvalidInput("executed_with_tags: tag_keys must be a set of tag keys")
            object.__setattr__(self, "tag_keys", tuple(sorted(set(keys))))
        if self.tag_values is not None:
            object.__setattr__(self, "tag_values", _tag_pairs(self.tag_values))
        if self.kind in _CHECKS:
            outside = [n.name for n in self.operands[0].walk() if n.kind not in _CHECK_SCOPE]
            if outside:
                raise InvalidInput(
                    f"{self.name}: a condition on an asset's checks holds check_passed(), "
                    "check_failed(), will_be_requested() and &, |, ~ of them, not "
                    f"{outside[0]}"
                )
        depth = 1 + max((o._depth for o in self.operands), default=0)
        if depth > _MAX_DEPTH:
            raise InvalidInput(f"an automation condition is nested deeper than {_MAX_DEPTH}")
        object.__setattr__(self, "_depth", depth)
        object.__setattr__(
            self, "_kinds", frozenset({self.kind}).union(*(o._kinds for o in self.operands))
        )
        object.__setattr__(
            self,
            "_deps_depth",
            max((o._deps_depth for o in self.operands), default=0)
            + (self.kind in ("any_deps", "all_deps")),
        )
        misplaced = self.kind if self.kind in ("check_passed", "check_failed") else None
        if self.kind not in _CHECKS:
            misplaced = next(
                (o._misplaced for o in self.operands if o._misplaced is not None), misplaced
            )
        object.__setattr__(self, "_misplaced", misplaced)
        own = (self,) if self.kind in ("cron_tick_passed", "in_latest_time_window") else ()
        object.__setattr__(
            self, "_clocked", own + tuple(n for o in self.operands for n in o._clocked)
        )

    # -- operands (Dagster's names) -----------------------------------------------------------

    @staticmethod
    def missing() -> AutomationCondition:
        """The partition has never been materialized."""
        return AutomationCondition("missing")

    @staticmethod
    def run_in_progress() -> AutomationCondition:
        """A run that targets the partition has not finished (queued runs included)."""
        return AutomationCondition("run_in_progress")

    @staticmethod
    def backfill_in_progress() -> AutomationCondition:
        """An unfinished backfill targets the partition and has not materialized it yet."""
        return AutomationCondition("backfill_in_progress")

    @staticmethod
    def in_progress() -> AutomationCondition:
        """A run or a backfill is in progress for the partition."""
        return (
            AutomationCondition.run_in_progress() | AutomationCondition.backfill_in_progress()
        ).with_label("in_progress")

    @staticmethod
    def execution_failed() -> AutomationCondition:
        """The latest run that targeted the partition failed."""
        return AutomationCondition("execution_failed")

    @staticmethod
    def newly_updated() -> AutomationCondition:
        """Materialized since the previous evaluation (false on the first one)."""
        return AutomationCondition("newly_updated")

    @staticmethod
    def newly_requested() -> AutomationCondition:
        """Requested by the previous evaluation."""
        return AutomationCondition("newly_requested")

    @staticmethod
    def will_be_requested() -> AutomationCondition:
        """Requested by this evaluation, in a run that can also run the asset evaluated."""
        return AutomationCondition("will_be_requested")

    @staticmethod
    def initial_evaluation() -> AutomationCondition:
        """The first evaluation of the asset, or the first since its partitions changed."""
        return AutomationCondition("initial_evaluation")

    @staticmethod
    def in_latest_time_window(lookback_delta: Any = None) -> AutomationCondition:
        """In the latest complete time window (every partition of other assets); with a
        lookback (a `timedelta` or seconds), in the windows ending within it."""
        seconds = None
        if lookback_delta is not None:
            total = getattr(lookback_delta, "total_seconds", None)
            seconds = total() if callable(total) else lookback_delta
        return AutomationCondition("in_latest_time_window", lookback_seconds=seconds)

    @staticmethod
    def cron_tick_passed(cron_schedule: str, cron_timezone: str = "UTC") -> AutomationCondition:
        """A tick of the cron schedule passed since the previous evaluation."""
        return AutomationCondition("cron_tick_passed", cron=cron_schedule, timezone=cron_timezone)

    @staticmethod
    def code_version_changed() -> AutomationCondition:
        """The asset's code version changed since the previous evaluation."""
        return AutomationCondition("code_version_changed")

    @staticmethod
    def executed_with_root_target() -> AutomationCondition:
        """The latest materialization came from a run that also targeted the asset evaluated."""
        return AutomationCondition("executed_with_root_target")

    @staticmethod
    def executed_with_tags(*, tag_keys: Any = None, tag_values: Any = None) -> AutomationCondition:
        """The run of the asset's latest materialization had every key of `tag_keys` and every
        `tag_values` pair (Dagster: only the partition materialized last can hold)."""
        return AutomationCondition("executed_with_tags", tag_keys=tag_keys, tag_values=tag_values)

    @staticmethod
    def check_passed() -> AutomationCondition:
        """(Of a check, inside `any_checks_match`/`all_checks_match`.) The check ran against
        the partition's latest materialization and passed."""
        return AutomationCondition("check_passed")

    @staticmethod
    def check_failed() -> AutomationCondition:
        """(Of a check.) The check ran against the partition's latest materialization and
        failed."""
        return AutomationCondition("check_failed")

    @staticmethod
    def any_downstream_conditions() -> AutomationCondition:
        """True where any condition of an asset downstream (transitively) is true when
        evaluated on this asset: requests it when a descendant would want it."""
        return AutomationCondition("any_downstream_conditions")

    # -- dependency operators ------------------------------------------------------------------

    @staticmethod
    def any_deps_match(condition: AutomationCondition) -> AutomationCondition:
        """True for a partition if the condition holds for a mapped partition of any dependency."""
        return AutomationCondition("any_deps", (condition,))

    @staticmethod
    def all_deps_match(condition: AutomationCondition) -> AutomationCondition:
        """True for a partition if, for every dependency, the condition holds for one of its
        mapped partitions (always true without dependencies)."""
        return AutomationCondition("all_deps", (condition,))

    @staticmethod
    def any_checks_match(
        condition: AutomationCondition, blocking_only: bool = False
    ) -> AutomationCondition:
        """True for a partition if the condition holds for any of the asset's checks (of its
        blocking checks, with `blocking_only`)."""
        return AutomationCondition("any_checks", (condition,), blocking_only=blocking_only)

    @staticmethod
    def all_checks_match(
        condition: AutomationCondition, blocking_only: bool = False
    ) -> AutomationCondition:
        """True for a partition if the condition holds for every one of the asset's checks
        (always true without checks)."""
        return AutomationCondition("all_checks", (condition,), blocking_only=blocking_only)

    @staticmethod
    def all_deps_blocking_checks_passed() -> AutomationCondition:
        """Every dependency's blocking checks passed against its latest materialization (or
        will be requested with it in this evaluation)."""
        a = AutomationCondition
        passed = a.all_checks_match(a.check_passed() | a.will_be_requested(), blocking_only=True)
        return a.all_deps_match(passed.with_label("all_blocking_checks_passed")).with_label(
            "all_deps_blocking_checks_passed"
        )

    @staticmethod
    def newly_missing() -> AutomationCondition:
        return AutomationCondition.missing().newly_true().with_label("newly_missing")

    @staticmethod
    def any_deps_updated() -> AutomationCondition:
        a = AutomationCondition
        updated = (a.newly_updated() & ~a.executed_with_root_target()).with_label(
            "newly_updated_without_root"
        )
        return a.any_deps_match(updated | a.will_be_requested()).with_label("any_deps_updated")

    @staticmethod
    def any_deps_missing() -> AutomationCondition:
        a = AutomationCondition
        return a.any_deps_match(a.missing() & ~a.will_be_requested()).with_label("any_deps_missing")

    @staticmethod
    def any_deps_in_progress() -> AutomationCondition:
        a = AutomationCondition
        return a.any_deps_match(a.in_progress()).with_label("any_deps_in_progress")

    @staticmethod
    def all_deps_updated_since_cron(
        cron_schedule: str, cron_timezone: str = "UTC"
    ) -> AutomationCondition:
        a = AutomationCondition
        since_tick = a.newly_updated().since(a.cron_tick_passed(cron_schedule, cron_timezone))
        return a.all_deps_match(since_tick | a.will_be_requested()).with_label(
            f"all_deps_updated_since_cron({cron_schedule}, {cron_timezone})"
        )

    # -- composites ----------------------------------------------------------------------------

    @staticmethod
    def eager() -> AutomationCondition:
        """Request the latest partition when a dependency updates or it goes missing, unless
        a dependency is missing or in progress, or the asset itself is in progress."""
        a = AutomationCondition
        return (
            a.in_latest_time_window()
            & (a.newly_missing() | a.any_deps_updated()).since_last_handled()
            & ~a.any_deps_missing()
            & ~a.any_deps_in_progress()
            & ~a.in_progress()
        ).with_label("eager")

    @staticmethod
    def on_cron(cron_schedule: str, cron_timezone: str = "UTC") -> AutomationCondition:
        """Request the latest partition once per cron tick, after every dependency updated
        since that tick."""
        a = AutomationCondition
        return (
            a.in_latest_time_window()
            & a.cron_tick_passed(cron_schedule, cron_timezone).since_last_handled()
            & a.all_deps_updated_since_cron(cron_schedule, cron_timezone)
        ).with_label(f"on_cron({cron_schedule}, {cron_timezone})")

    @staticmethod
    def on_missing() -> AutomationCondition:
        """Request a partition once when it becomes missing, when no dependency is missing."""
        a = AutomationCondition
        return (
            a.in_latest_time_window()
            & a.missing().newly_true().since_last_handled().with_label("missing_since_last_handled")
            & ~a.any_deps_missing()
        ).with_label("on_missing")

    # -- operators -----------------------------------------------------------------------------

    def _flat(self, kind: str) -> tuple[AutomationCondition, ...]:
        # Dagster flattens `a & b & c` into one AND, unless a part carries a label.
        return self.operands if self.kind == kind and self.label is None else (self,)

    def __and__(self, other: AutomationCondition) -> AutomationCondition:
        _check_condition(other, "&")
        return AutomationCondition("and", (*self._flat("and"), *other._flat("and")))

    def __or__(self, other: AutomationCondition) -> AutomationCondition:
        _check_condition(other, "|")
        return AutomationCondition("or", (*self._flat("or"), *other._flat("or")))

    def __invert__(self) -> AutomationCondition:
        return AutomationCondition("not", (self,))

    def since(self, reset_condition: AutomationCondition) -> AutomationCondition:
        """True from when this condition is true until `reset_condition` is (a reset and a
        trigger at the same evaluation: the later one in time wins, a tie the reset)."""
        _check_condition(reset_condition, "since")
        return AutomationCondition("since", (self, reset_condition))

    def newly_true(self) -> AutomationCondition:
        """True where this condition is true now and was not at the previous evaluation."""
        return AutomationCondition("newly_true", (self,))

    def since_last_handled(self) -> AutomationCondition:
        a = AutomationCondition
        handled = (a.newly_requested() | a.newly_updated() | a.initial_evaluation()).with_label(
            "handled"
        )
        return self.since(handled)

    def with_label(self, label: str | None) -> AutomationCondition:
        return replace(self, label=label)

    def without(self, condition: AutomationCondition) -> AutomationCondition:
        """This AND without the operand equal to `condition` (labels count), keeping its
        label: `eager().without(~AutomationCondition.any_deps_missing())`."""
        if self.kind != "and":
            raise InvalidInput("without() applies to a condition built with &")
        kept = tuple(o for o in self.operands if o != condition)
        if len(kept) == len(self.operands):
            raise InvalidInput(f"without(): {condition.describe()} is not an operand of this AND")
        if len(kept) < 2:
            raise InvalidInput("without() must leave at least two operands")
        return replace(self, operands=kept)

    def allow(self, selection: object) -> AutomationCondition:
        """Only look at the dependencies in `selection` (pushed into every dependency
        condition below this one)."""
        return self._selecting("allow", _selection_text(selection, "allow()"))

    def ignore(self, selection: object) -> AutomationCondition:
        """Do not look at the dependencies in `selection`."""
        return self._selecting("ignore", _selection_text(selection, "ignore()"))

    def _selecting(self, which: str, text: str) -> AutomationCondition:
        if self.kind in ("any_deps", "all_deps"):
            current = getattr(self, f"{which}_selection")
            joined = text if current is None else f"({current}) or ({text})"
            if which == "allow":
                return replace(self, allow_selection=joined)
            return replace(self, ignore_selection=joined)
        if self.kind in OPERANDS:
            raise InvalidInput(f"{which}() applies to conditions on dependencies")
        if self.kind in _CHECKS:
            raise InvalidInput(
                f"{which}() on {self.name}: Arco does not select an asset's checks by asset "
                "selection; put the checks operator on the assets whose checks count"
            )
        return replace(self, operands=tuple(_push(o, which, text) for o in self.operands))

    # -- reading -------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The node's name without its label, with its parameters (Dagster's `name`)."""
        if self.kind == "cron_tick_passed":
            return f"cron_tick_passed({self.cron}, {self.timezone or 'UTC'})"
        if self.kind == "in_latest_time_window" and self.lookback_seconds is not None:
            return f"in_latest_time_window({self.lookback_seconds:g}s)"
        if self.kind in ("any_deps", "all_deps"):
            parts = [f"allow {self.allow_selection}"] if self.allow_selection else []
            parts += [f"ignore {self.ignore_selection}"] if self.ignore_selection else []
            return f"{self.kind}_match" + (f" ({'; '.join(parts)})" if parts else "")
        if self.kind in _CHECKS:
            return f"{self.kind}_match" + (" (blocking only)" if self.blocking_only else "")
        if self.kind == "executed_with_tags":
            props = []
            if self.tag_keys is not None:
                props.append(f"tag_keys={{{','.join(self.tag_keys)}}}")
            if self.tag_values is not None:
                props.append(f"tag_values={{{','.join(f'{k}:{v}' for k, v in self.tag_values)}}}")
            return self.kind + (f"({', '.join(props)})" if props else "")
        return {"and": "AND", "or": "OR", "not": "NOT", "since": "SINCE"}.get(self.kind, self.kind)

    def describe(self) -> str:
        """A one-line rendering: the label, or the expression."""
        if self.label:
            return self.label
        if self.kind in ("and", "or"):
            joiner = " & " if self.kind == "and" else " | "
            return "(" + joiner.join(o.describe() for o in self.operands) + ")"
        if self.kind == "not":
            return "~" + self.operands[0].describe()
        if self.kind == "since":
            return f"{self.operands[0].describe()}.since({self.operands[1].describe()})"
        if self.kind == "newly_true":
            return f"{self.operands[0].describe()}.newly_true()"
        if self.kind in ("any_deps", "all_deps", *_CHECKS):
            return f"{self.name}({self.operands[0].describe()})"
        return self.name + ("()" if "(" not in self.name else "")

    def walk(self) -> Iterator[AutomationCondition]:
        """Every node, depth first, this one first."""
        yield self
        for operand in self.operands:
            yield from operand.walk()

    def clocked(self) -> tuple[AutomationCondition, ...]:
        """The nodes whose result depends on the time alone (`cron_tick_passed`,
        `in_latest_time_window`), depth first."""
        return self._clocked

    def uses(self, kind: str) -> bool:
        """Whether a node of this kind is in the tree."""
        return kind in self._kinds

    # -- snapshot ------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.operands:
            out["operands"] = [o.to_json() for o in self.operands]
        for name in _FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.tag_keys is not None:
            out["tag_keys"] = list(self.tag_keys)
        if self.tag_values is not None:
            out["tag_values"] = [list(pair) for pair in self.tag_values]
        return out

    @classmethod
    def from_json(cls, data: Any, _count: list[int] | None = None) -> AutomationCondition:
        count = [0] if _count is None else _count
        count[0] += 1
        if count[0] > _MAX_NODES:
            raise InvalidInput(f"an automation condition has more than {_MAX_NODES} nodes")
        if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
            raise InvalidInput(f"an automation condition must be an object with a kind: {data!r}")
        unknown = set(data) - {"kind", "operands", *_FIELDS}
        if unknown:
            raise InvalidInput(f"automation condition: unknown fields {sorted(unknown)}")
        operands = data.get("operands", [])
        if not isinstance(operands, list):
            raise InvalidInput("automation condition operands must be a list")
        return cls(
            kind=data["kind"],
            operands=tuple(cls.from_json(o, count) for o in operands),
            **{name: data.get(name) for name in _FIELDS},
        )


def _tag_pairs(values: object) -> tuple[tuple[str, str], ...]:
    """`tag_values` as sorted (key, value) pairs, from a mapping or from pairs (its JSON)."""
    message = "executed_with_tags: tag_values must map tag keys to strings"
    if isinstance(values, Mapping):
        items: list[object] = list(values.items())
    elif isinstance(values, list | tuple):
        items = list(values)
    else:
        raise InvalidInput(message)
    pairs: list[tuple[str, str]] = []
    for item in items:
        if not (isinstance(item, list | tuple) and len(item) == 2):
            raise InvalidInput(message)
        key, value = item
        if not isinstance(key, str) or not key or not isinstance(value, str):
            raise InvalidInput(message)
        pairs.append((key, value))
    return tuple(sorted(pairs))


def _check_condition(value: object, what: str) -> None:
    if not isinstance(value, AutomationCondition):
        raise InvalidInput(f"{what} combines AutomationConditions, not {type(value).__name__}")


def _push(node: AutomationCondition, which: str, text: str) -> AutomationCondition:
    if node.kind in OPERANDS:
        return node
    return node._selecting(which, text)


def strip_downstream(condition: AutomationCondition) -> AutomationCondition | None:
    """A descendant's condition as `any_downstream_conditions()` evaluates it: nested
    `any_downstream_conditions()` count as false (an AND holding one is dropped, an OR loses
    it), labelled conditions are kept whole (Dagster's rule)."""
    if condition.label is not None:
        return condition
    if condition.kind == "any_downstream_conditions":
        return None
    if condition.kind not in ("and", "or"):
        return condition
    kept = []
    for operand in condition.operands:
        simplified = strip_downstream(operand)
        if simplified is None:
            if condition.kind == "and":
                return None
            continue
        kept.append(simplified)
    if not kept:
        return None
    if len(kept) == 1:
        return kept[0]
    return replace(condition, operands=tuple(kept))


def misplaced_check_operand(condition: AutomationCondition) -> str | None:
    """The name of a check operand (`check_passed()`...) found outside any checks operator,
    where it has no check to describe; None when there is none."""
    return condition._misplaced


def _structure(node: AutomationCondition) -> str:
    """The node's structure without labels: what its memory depends on."""
    if not node.operands:
        return node.name
    return f"{node.name}[{','.join(_structure(o) for o in node.operands)}]"


Path = tuple[int, ...]
"""A node's place in its tree: the operand indexes from the root (the root is `()`)."""


def deps_depth(condition: AutomationCondition) -> int:
    """How many dependency operators are nested in `condition` (how far up it looks)."""
    return condition._deps_depth


def structure(condition: AutomationCondition) -> str:
    """The condition's structure, labels left out: what names its memory."""
    return _structure(condition)


def memory_ids(condition: AutomationCondition) -> dict[Path, str]:
    """Path -> memory id for every stateful node of the tree. The id hashes the node's
    structure (labels left out) and its occurrence among identical nodes, depth first: editing
    other parts of the tree, wrapping it or relabelling it keeps a node's memory."""
    seen: dict[str, int] = {}
    out: dict[Path, str] = {}

    def visit(node: AutomationCondition, path: Path) -> None:
        if node.kind in STATEFUL:
            structure = _structure(node)
            seen[structure] = seen.get(structure, 0) + 1
            text = f"{structure}#{seen[structure]}"
            out[path] = hashlib.sha256(text.encode()).hexdigest()[:16]
        for index, operand in enumerate(node.operands):
            visit(operand, (*path, index))

    visit(condition, ())
    return out
