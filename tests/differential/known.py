"""The named list of disagreements with Dagster that are known: deliberate differences (each
with its ADR 0008 entry, described in docs/parity/differential.md) and bugs in Arco found by
this suite (each with its reproduction, until Arco is fixed and the entry removed).

Every `applies` recognises its disagreement precisely, re-deriving Dagster's answer where it
can, so an entry never hides a different disagreement.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

from arco.domain import selection as arco_selection
from arco.domain.cron import CronSchedule
from arco.domain.partitions import TimeWindowPartitionsDefinition
from tests.differential.arco_side import (
    build_definitions,
    build_partitions,
    cron_answer,
    time_windows,
)
from tests.differential.cases import _DAYS as DAY_NAMES
from tests.differential.cases import _MONTHS as MONTH_NAMES
from tests.differential.compare import Facet, Known
from tests.differential.facets import arco_cause

# --------------------------------------------------------------------------- cron

# Zones whose UTC offset has a non-zero minute part during only part of the year. Dagster
# decides once per process, from *today's* offset (`has_nonzero_minute_offset` calls
# `datetime.now`), whether hourly crons need minute resolution there: in the other season its
# ticks land 30 minutes off the wall-clock minute the cron names.
_SEASONAL_MINUTE_ZONES = frozenset({"Australia/Lord_Howe"})


def _crons(facet: Facet) -> list[str]:
    cron = facet.case["cron"]
    return [cron] if isinstance(cron, str) else list(cron)


def _hourly_or_faster(cron: str) -> bool:
    fields = cron.split()
    return cron.startswith("@hourly") or (len(fields) == 5 and fields[1] == "*")


def _dagster_minute_resolution_by_today(facet: Facet) -> bool:
    return (
        facet.case["tz"] in _SEASONAL_MINUTE_ZONES
        and any(_hourly_or_faster(c) for c in _crons(facet))
        and not facet.d_error
        and not facet.a_error
    )


def _feb_30_31_with_weekday(cron: str) -> bool:
    fields = cron.upper().split()
    if len(fields) != 5:
        return False
    _, _, dom, month, dow = fields
    days = set(re.split(r"[,-]", dom))
    return bool(days) and days <= {"30", "31"} and month in ("2", "FEB") and dow not in ("*", "?")


_RANGE_ITEM = re.compile(r"^([0-9A-Z]+)-([0-9A-Z]+)(/[0-9]+)?$")


_NAMES = {
    3: {m: str(i) for i, m in enumerate(MONTH_NAMES, 1)},
    4: {d: str(i) for i, d in enumerate(DAY_NAMES)},
}


def _same_value(field: int, first: str, second: str) -> bool:
    values = [_NAMES.get(field, {}).get(v, v).lstrip("0") or "0" for v in (first, second)]
    if field == 4:  # day-of-week 7 is 0 (Sunday)
        values = ["0" if v == "7" else v for v in values]
    return values[0] == values[1]


def _one_value_ranges_as_croniter_reads_them(cron: str) -> str | None:
    """`cron` with every one-value range (`5-5`, `FRI-FRI`, `3-3/2`, `7-0`) written as the whole
    cycle croniter reads it as (`*`, `*/2`); None if it has no such range."""
    fields = cron.upper().split()
    if len(fields) != 5:
        return None
    changed = False
    for index, text in enumerate(fields):
        items = []
        for item in text.split(","):
            match = _RANGE_ITEM.match(item)
            if match and _same_value(index, match.group(1), match.group(2)):
                items.append("*" + (match.group(3) or ""))
                changed = True
            else:
                items.append(item)
        fields[index] = ",".join(items)
    return " ".join(fields) if changed else None


def _one_value_range_is_the_whole_cycle_in_dagster(facet: Facet) -> bool:
    """Recognised by reading Dagster's answer as Arco's for the cron with each one-value range
    written as the whole cycle."""
    crons = [_one_value_ranges_as_croniter_reads_them(c) for c in _crons(facet)]
    if facet.d is None or not any(crons):
        return False
    as_dagster = [c or original for c, original in zip(crons, _crons(facet), strict=True)]
    cron = as_dagster[0] if isinstance(facet.case["cron"], str) else as_dagster
    return cron_answer({**facet.case, "cron": cron}).get("ok") == facet.d


def _dagster_refuses_feb_30_31_with_weekday(facet: Facet) -> bool:
    if facet.family == "cron_valid":
        refused_by_dagster = facet.d is False and facet.a is True
    else:
        refused_by_dagster = facet.d_error and not facet.a_error
    return refused_by_dagster and any(_feb_30_31_with_weekday(c) for c in _crons(facet))


def _arco_refuses_impossible_day(facet: Facet) -> bool:
    if facet.d is not True or facet.a is not False:
        return False
    from arco.domain.cron import CronSchedule
    from arco.domain.errors import InvalidInput

    try:
        CronSchedule.parse(facet.case["cron"])
    except InvalidInput as exc:
        return "never occur" in str(exc)
    return False


def _arco_refuses_hash_or_question_mark(facet: Facet) -> bool:
    cron = facet.case["cron"]
    return facet.d is True and facet.a is False and ("#" in cron or "?" in cron)


# --------------------------------------------------------------------------- partitions


def _exists(wall: datetime, zone: ZoneInfo) -> bool:
    """Whether the naive wall time occurs in the zone (it survives a round trip through UTC)."""
    aware = wall.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


def _placed_by_arco(wall: datetime, zone: ZoneInfo) -> int:
    """Arco's (and Dagster's documented) placement of a wall time a non-hourly cron names: in a
    gap, the first instant after it; repeated, the later instant; otherwise its only one."""
    if _exists(wall, zone):
        return int(wall.replace(tzinfo=zone, fold=1).timestamp())
    # fold=1 reads a gap's wall time with the offset after the change (an instant before it),
    # fold=0 with the offset before it (an instant after it): the change lies between.
    lo = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    hi = int(wall.replace(tzinfo=zone, fold=0).timestamp())
    offset = datetime.fromtimestamp(lo, zone).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == offset:
            lo = mid
        else:
            hi = mid
    return hi


def _dagster_places_odd_dst_times_differently(facet: Facet) -> bool:
    """Dagster's schedules only apply their DST rule (a time in a gap fires when the gap ends,
    a repeated time at its later instant) to wall times in hours 1-3 (`DAYLIGHT_SAVINGS_HOURS`
    of `dagster._utils.schedules`), and its fast paths check the hour after moving the time:
    elsewhere a gap's wall time is read with the offset before the change and a repeated one at
    its earlier instant, and a gap not starting on the hour (Chatham) can fire before it.
    Recognised by placing Dagster's own wall times by Arco's rule: that must give Arco's ticks,
    and at least one of them must not exist or must repeat."""
    if facet.d is None or facet.a is None or _hourly_or_faster_any(facet):
        return False
    zone = ZoneInfo(facet.case["tz"])
    walls = [datetime.fromisoformat(t).replace(tzinfo=None) for t in facet.d]
    odd = [w for w in walls if not _exists(w, zone) or _ambiguous(w, zone)]
    arco = [int(datetime.fromisoformat(t).timestamp()) for t in facet.a]
    placed: list[int] = []
    for wall in walls:
        instant = _placed_by_arco(wall, zone)
        gap_end = _gap_end_in_the_hour_before(wall, zone)
        if gap_end is not None and len(placed) < len(arco) and arco[len(placed)] == gap_end:
            odd.append(wall)
            instant = gap_end
        if not placed or placed[-1] != instant:  # several walls on one instant: one tick
            placed.append(instant)
    return bool(odd) and placed == arco[: len(placed)]


def _gap_end_in_the_hour_before(wall: datetime, zone: ZoneInfo) -> int | None:
    """Dagster moves a time in a gap of hours 1-3 to the next whole hour, assuming gaps start on
    the hour: Chatham's 02:45-03:45 gap sends 03:30 to 04:00. The end of a gap that began in
    the hour before `wall` (a whole hour), if there is one."""
    if wall.minute or wall.second or wall.hour not in (2, 3, 4) or not _exists(wall, zone):
        return None
    end = int(wall.replace(tzinfo=zone).timestamp())
    for instant in range(end - 3600 + 60, end, 60):
        previous = datetime.fromtimestamp(instant - 60, zone).utcoffset()
        current = datetime.fromtimestamp(instant, zone).utcoffset()
        if previous is not None and current is not None and current > previous:
            return instant
    return None


def _ambiguous(wall: datetime, zone: ZoneInfo) -> bool:
    return (
        wall.replace(tzinfo=zone, fold=0).utcoffset()
        != wall.replace(tzinfo=zone, fold=1).utcoffset()
    )


def _hourly_or_faster_any(facet: Facet) -> bool:
    return any(_hourly_or_faster(c) for c in _crons(facet))


def _now(facet: Facet) -> datetime:
    return datetime.fromtimestamp(facet.case["now"], UTC)


def _arco_keys(spec: dict[str, Any], now: datetime) -> list[str]:
    definition = build_partitions(spec)
    assert definition is not None
    return definition.keys(now)


def _unaligned_key(facet: Facet) -> bool:
    """ADR 0008 §9: Dagster's `has_partition_key` accepts any string that parses with the
    format, lies in range and formats back to itself; Arco wants the start of a window."""
    return (
        facet.name.startswith("has_key")
        and facet.d is True
        and facet.a is False
        and facet.extra["candidate"] not in facet.extra["dagster_keys"]
    )


def _shadow(definition: TimeWindowPartitionsDefinition, exclusions: bool) -> Any:
    """The same cron windows, named the same way, with no start, end or offset."""
    return TimeWindowPartitionsDefinition(
        cron_schedule=definition.cron_schedule,
        start=datetime(1990, 1, 1, tzinfo=UTC),
        fmt=definition.fmt,
        timezone=definition.timezone,
        exclusions=definition.exclusions if exclusions else (),
    )


def _key_for_timestamp_outside(facet: Facet) -> bool:
    """Dagster names a key for any instant: the cron window's key before the first partition
    or past `end`, the previous kept window's for an instant in an excluded one. Arco answers
    None: the instant is in no partition."""
    if not facet.name.startswith("key_for_ts") or facet.a is not None or facet.a_error:
        return False
    if not isinstance(facet.d, str):
        return False
    definition = time_windows(facet.case["def"])
    ts = datetime.fromtimestamp(facet.extra["ts"], UTC)
    closed = facet.extra["end_closed"]
    if definition.exclusions and _shadow(definition, True).key_for_timestamp(ts, closed) is None:
        return True  # an excluded window
    return _shadow(definition, False).key_for_timestamp(ts, closed) == facet.d


def _end_inside_the_first_window(facet: Facet) -> bool:
    """ADR 0008 §38: an `end` inside the first window. Arco's partitions are the windows
    that end by `end`: none. Dagster's key list shows the first window anyway, its first key
    is that window's and its last key the window before it (and its has_partition_key refuses
    the key it lists)."""
    spec = facet.case["def"]
    if not spec.get("end") or facet.name not in ("keys", "first", "last"):
        return False
    definition = time_windows(spec)
    shadow = _shadow(definition, False)
    first = shadow.key_for_timestamp(definition.start)
    if definition.end is None or first is None:
        return False
    if shadow.time_window_for_key(first).end <= definition.end:
        return False
    if facet.name == "keys":
        return facet.a == [] and facet.d == [first]
    if facet.name == "first":
        return facet.a is None and facet.d == first
    before = definition.start - timedelta(seconds=1)
    return facet.a is None and facet.d == shadow.key_for_timestamp(before)


# --------------------------------------------------------------------------- mappings


def _multi_nonexistent_as_whole_keys(facet: Facet) -> bool:
    """Arco reports required-but-nonexistent keys of a multi upstream as whole multi keys;
    Dagster reports the bare dimension keys."""
    if facet.name != "upstream" or facet.d is None or facet.a is None:
        return False
    if facet.d["keys"] != facet.a["keys"]:
        return False
    if (facet.case.get("upstream") or {}).get("class") != "multi":
        return False
    parts = {part for key in facet.a["missing"] for part in key.split("|")}
    whole = all("|" in key for key in facet.a["missing"])
    return whole and set(facet.d["missing"]) <= parts and bool(facet.a["missing"])


def _dagster_shortcut_before_upstream_start(facet: Facet) -> bool:
    """When every downstream window ends before the upstream's first partition, Dagster takes
    a shortcut: the required-but-nonexistent keys are the upstream windows *starting inside*
    the downstream windows, offsets ignored. Arco maps as always: upstream windows
    overlapping the (offset) downstream windows."""
    case = facet.case
    if facet.name != "upstream" or facet.d is None or facet.a is None:
        return False
    if (case["mapping"] or {}).get("class") != "time_window" or facet.d["keys"]:
        return False
    upstream, downstream = time_windows(case["upstream"]), time_windows(case["downstream"])
    first = upstream.window_at(0).start
    windows = [downstream.time_window_for_key(k) for k in facet.extra["keys"]]
    if not windows or any(w.end > first for w in windows):
        return False
    # the upstream cron's windows, named as the upstream names them, without its range
    shadow = TimeWindowPartitionsDefinition(
        cron_schedule=upstream.cron_schedule,
        start=datetime(1990, 1, 1, tzinfo=UTC),
        fmt=upstream.fmt,
        timezone=upstream.timezone,
    )
    cron = CronSchedule.parse(upstream.cron_schedule)
    expected = set()
    for window in windows:
        for tick in cron.ticks_from(window.start, upstream.timezone):
            if tick >= window.end:
                break
            expected.add(shadow.key_for_timestamp(tick))
    return sorted(expected) == facet.d["missing"]


# --------------------------------------------------------------------------- selection


def _unknown_key_is_an_error(facet: Facet) -> bool:
    return facet.a_error and "unknown asset" in facet.arco["error"] and not facet.d_error


def _superset_syntax(facet: Facet) -> bool:
    """Dagster refuses the string; Arco reads it (bare values anywhere, `*` under traversal,
    wildcards in every value, function calls without argument...)."""
    return facet.d_error and not facet.a_error


def _fetch_sources(defs: Any, within: frozenset[str]) -> frozenset[str]:
    """Dagster's roots: members of `within` with no *ancestor* in `within`."""
    memo: dict[str, bool] = {}

    def reaches(key: str) -> bool:
        if key not in memo:
            memo[key] = any(p in within or reaches(p) for p in defs.upstream(key))
        return memo[key]

    return frozenset(k for k in within if not reaches(k))


def _fetch_sinks(defs: Any, within: frozenset[str]) -> frozenset[str]:
    """Dagster's sinks: members of `within` with no *descendant* in `within`."""
    memo: dict[str, bool] = {}

    def reaches(key: str) -> bool:
        if key not in memo:
            memo[key] = any(c in within or reaches(c) for c in defs.downstream(key))
        return memo[key]

    return frozenset(k for k in within if not reaches(k))


@contextmanager
def _transitive_roots_and_sinks() -> Iterator[None]:
    def roots(self: Any, ctx: Any) -> frozenset[str]:
        within = ctx.everything if self.selection is None else self.selection._select(ctx)
        return _fetch_sources(ctx.defs, within)

    def sinks(self: Any, ctx: Any) -> frozenset[str]:
        within = ctx.everything if self.selection is None else self.selection._select(ctx)
        return _fetch_sinks(ctx.defs, within)

    with (
        mock.patch.object(arco_selection.Roots, "_select", roots),
        mock.patch.object(arco_selection.Sinks, "_select", sinks),
    ):
        yield


# --------------------------------------------------------------------------- data versions


def _dagster_order(name: str) -> str:
    """`str(AssetKey(path))`, Dagster's sort key for input data versions."""
    return f"AssetKey({name.split('/')!r})"


# --------------------------------------------------------------------------- staleness


def _without_upstream_missing(facet: Facet) -> bool:
    """Arco's UPSTREAM_MISSING: a partition materialized while an upstream partition it reads
    had never been materialized is STALE until that upstream is. Dagster records INITIAL for
    such an input and does not count "INITIAL then NULL" as a change: FRESH."""
    causes = facet.extra.get("arco_causes") or []
    if facet.family != "staleness" or not any(c[0] == "UPSTREAM_MISSING" for c in causes):
        return False
    rest = [arco_cause(c) for c in causes if c[0] != "UPSTREAM_MISSING"]
    return facet.d == ["STALE" if rest else "FRESH", rest]


_SIMULATIONS: dict[
    tuple[str, str], list[dict[tuple[str, str | None], tuple[str, frozenset[str]]]]
] = {}
_SIM_NOW = datetime(2024, 2, 1, tzinfo=UTC)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _simulate(
    case: Any, rules: str
) -> list[dict[tuple[str, str | None], tuple[str, frozenset[str]]]]:
    """The data versions along a staleness scenario, recomputed with Dagster's rules
    (`rules="dagster"`) or Arco's (`"arco"`): one input version per dependency; for a
    partitioned dependency the SHA-256 of the versions of the materialized upstream partitions
    it maps to, in partition-key order. A dependency never materialized: Dagster INITIAL (for
    a partitioned one, when no partition at all is materialized); Arco NULL for an
    unpartitioned asset with code, and the hash of nothing for a partitioned one. Assets of a
    run are taken in topological order, as Dagster runs them. With each version, the flags of
    what made it depend on the rules."""
    cached = _SIMULATIONS.get((case["id"], rules))
    if cached is not None:
        return cached
    reported = dict(case.get("reported", {}))
    defs = build_definitions(case["assets"], reported).snapshot("differential")
    state: dict[tuple[str, str | None], tuple[str, frozenset[str]]] = {}
    out = []
    for step in case["steps"]:
        if step["op"] == "deploy":
            defs = build_definitions(step["assets"], reported).snapshot("differential")
        elif step["op"] == "report":
            reported[step["key"]] = step["version"]
        else:
            partition = step.get("partition")
            chosen = set(step["keys"])
            for key in (k for k in defs.topological_order() if k in chosen):
                node = defs.assets[key]
                inputs: dict[str, str] = {}
                flags: set[str] = set()
                for dep in node.deps:
                    up = defs.assets[dep.key]
                    if up.partitions is None:
                        found = state.get((dep.key, None))
                        if found is None:
                            arco_missing = "NULL" if up.compute else "INITIAL"
                            inputs[dep.key] = "INITIAL" if rules == "dagster" else arco_missing
                            flags.add("missing_input" if up.compute else "")
                        else:
                            inputs[dep.key] = found[0]
                            flags |= found[1]
                        continue
                    if not any(a == dep.key for a, _ in state):
                        flags.add("missing_input")
                        if rules == "dagster":
                            inputs[dep.key] = "INITIAL"
                            continue
                    mapping = defs.mapping_for(key, dep.key)
                    keys = mapping.upstream_partitions(
                        node.partitions, [partition] if partition else [], up.partitions, _SIM_NOW
                    ).keys
                    known = [state[(dep.key, k)] for k in sorted(keys) if (dep.key, k) in state]
                    inputs[dep.key] = _sha("".join(v for v, _ in known))
                    for _, f in known:
                        flags |= f
                if reported.get(key):
                    version = reported[key]
                else:
                    body = "".join(inputs[k] for k in sorted(inputs, key=_dagster_order))
                    version = _sha(str(node.code_version) + body)
                state[(key, partition if node.partitions else None)] = (
                    version,
                    frozenset(flags - {""}),
                )
        out.append(dict(state))
    _SIMULATIONS[(case["id"], rules)] = out
    return out


def _null_input_version(facet: Facet) -> bool:
    """Arco records NULL for an upstream never materialized (so it can report
    UPSTREAM_MISSING), and hashes what was read of a partitioned one (nothing); Dagster records
    INITIAL. Both answers are recomputed, each with its system's rule, and must be the ones
    given."""
    if facet.family != "data_versions_e2e" or facet.d == facet.a:
        return False
    where = (facet.extra["asset"], facet.extra["partition"])
    step = facet.extra["step_index"]
    dagster = _simulate(facet.case, "dagster")[step].get(where)
    arco = _simulate(facet.case, "arco")[step].get(where)
    return (
        dagster is not None
        and arco is not None
        and (dagster[0], arco[0]) == (facet.d, facet.a)
        and "missing_input" in dagster[1]
    )


# --------------------------------------------------------------------------- the list

# --------------------------------------------------------------------------- automation


def _assets(facet: Facet) -> dict[str, dict[str, Any]]:
    return {a["key"]: a for a in facet.case["scenario"]["assets"]}


def _runless_after_failure(facet: Facet, asset: str) -> bool:
    """The scenario materialized unpartitioned `asset` outside any run, at or before this tick,
    after one of its runs failed."""
    failed = False
    for tick in facet.case["scenario"]["ticks"][: facet.extra["tick"] + 1]:
        for event in tick.get("events", []):
            if event["type"] == "run_failed" and asset in event["assets"]:
                failed = True
            materialized = event.get("assets") or [event.get("asset")]
            if (
                event["type"] == "materialize"
                and asset in materialized
                and failed
                and event.get("partition") is None
            ):
                return True
    return False


def _execution_failed_outlives_runless(facet: Facet) -> bool:
    """Dagster keeps an unpartitioned asset's `execution_failed()` true after a materialization
    outside any run (until a run succeeds), while a later materialization clears it in Arco,
    which has no materializations outside runs: every differing asset is such a case."""
    if facet.d is None or facet.a is None:
        return False
    if facet.family == "automation_runs":
        return False  # its runs differ because the requests do (the requested facet says why)
    assets = _assets(facet)
    differing = set(facet.d) ^ set(facet.a)
    return (
        bool(differing)
        and all(
            key in facet.d
            and key not in facet.a
            and facet.d[key] == [None]
            and "execution_failed" in (assets[key].get("condition") or "")
            and _runless_after_failure(facet, key)
            for key in differing
        )
        and all(facet.d[k] == facet.a[k] for k in set(facet.d) & set(facet.a))
    )


def _dagster_covered(runs: list[dict[str, Any]]) -> set[tuple[str, Any]]:
    out: set[tuple[str, Any]] = set()
    for run in runs:
        if run.get("backfill"):
            out |= {(a, k) for a, keys in run["asset_partitions"].items() for k in keys}
        else:
            out |= {(a, run["partition_key"]) for a in run["assets"]}
    return out


def _arco_covered(runs: list[dict[str, Any]]) -> set[tuple[str, Any]]:
    return {(a, k) for run in runs for a in run["assets"] for k in run["partition_keys"]}


def _range_runs_not_backfills(facet: Facet) -> bool:
    """Where Dagster requests several partitions of an asset as a backfill (or, with
    `emit_backfills=False`, one run per partition), Arco requests one run per contiguous range
    (and runs the backfilled asset's other keys with the assets that requested the same key):
    the same asset partitions, and every run that differs covers several partitions or holds a
    backfilled asset on Arco's side, and is a backfill or a run of such an asset on Dagster's."""
    if facet.family != "automation_runs" or facet.d is None or facet.a is None:
        return False
    extra = facet.extra
    if _dagster_covered(extra["dagster_runs"]) != _arco_covered(extra["arco_runs"]):
        return _execution_failed_outlives_runless_runs(facet)
    several = {asset for _, assets, keys in facet.a if len(keys) > 1 for asset in assets} | {
        asset for kind, assets, _ in facet.d if kind == "backfill" for asset in assets
    }
    d_only = [r for r in facet.d if r not in facet.a]
    a_only = [r for r in facet.a if r not in facet.d]
    in_backfill = {
        asset
        for run in extra["dagster_runs"]
        if run.get("backfill")
        for asset in run["asset_partitions"]
    }
    backfill_keys = {
        key
        for run in extra["dagster_runs"]
        if run.get("backfill")
        for keys in run["asset_partitions"].values()
        for key in keys
    }
    return all(len(keys) > 1 or set(assets) & in_backfill for _, assets, keys in a_only) and all(
        kind == "backfill" or set(assets) <= several or set(keys) <= backfill_keys
        for kind, assets, keys in d_only
    )


def _execution_failed_outlives_runless_runs(facet: Facet) -> bool:
    extra = facet.extra
    d_assets = {a for r in extra["dagster_runs"] if not r.get("backfill") for a in r["assets"]}
    a_assets = {a for r in extra["arco_runs"] for a in r["assets"]}
    assets = _assets(facet)
    return all(
        key not in a_assets
        and "execution_failed" in (assets[key].get("condition") or "")
        and _runless_after_failure(facet, key)
        for key in d_assets ^ a_assets
    ) and bool(d_assets ^ a_assets)


KNOWN: tuple[Known, ...] = (
    # cron
    Known(
        "dagster-hourly-minute-resolution-decided-today",
        "cron",
        "deliberate",
        "ADR 0008 (proposed entry 27: cron ticks follow the wall clock)",
        "Hourly crons in Australia/Lord_Howe: Dagster's ticks fall 30 minutes off the cron's "
        "minute during the season whose offset differs from today's; Arco ticks on the minute.",
        _dagster_minute_resolution_by_today,
        must_match=False,
    ),
    Known(
        "dagster-dst-rule-only-in-hours-1-to-3",
        "cron",
        "deliberate",
        "ADR 0008 (proposed entry 27b: DST placement outside 01:00-03:59)",
        "In zones whose clocks change outside 01:00-03:59 (Santiago, Havana, Cairo, Beirut, "
        "Nuuk...), a non-hourly cron naming a time in the gap fires when the gap ends in Arco "
        "and the gap's length later in Dagster; a repeated time fires at its later instant in "
        "Arco and (daily, weekly, monthly crons) at its earlier one in Dagster. Arco applies "
        "Dagster's documented rule in every hour.",
        _dagster_places_odd_dst_times_differently,
    ),
    Known(
        "cron-one-value-range-is-that-value",
        "cron",
        "deliberate",
        "ADR 0008 §39",
        "A range whose two ends are the same value (`5-5`, `FRI-FRI`, `3-3/2`) is that one "
        "value in Arco, as in standard cron; Dagster's croniter reads it as the whole cycle "
        "(every day of the week, every hour...).",
        _one_value_range_is_the_whole_cycle_in_dagster,
    ),
    Known(
        "cron-feb-30-31-with-weekday",
        "cron",
        "deliberate",
        "ADR 0008 (proposed entry 28: cron validity)",
        "Dagster refuses day 30/31 of February even with a day-of-week (which fires under the "
        "OR rule); Arco accepts it.",
        _dagster_refuses_feb_30_31_with_weekday,
    ),
    Known(
        "cron-feb-30-31-with-weekday",
        "cron_valid",
        "deliberate",
        "ADR 0008 (proposed entry 28: cron validity)",
        "Dagster refuses day 30/31 of February even with a day-of-week; Arco accepts it.",
        _dagster_refuses_feb_30_31_with_weekday,
    ),
    Known(
        "cron-day-never-occurs",
        "cron_valid",
        "deliberate",
        "ADR 0008 (proposed entry 28: cron validity)",
        "Arco refuses a day of the month that never occurs in the months named (`0 0 31 4 *`); "
        "Dagster accepts it and then fails to iterate it (croniter: failed to find next date).",
        _arco_refuses_impossible_day,
    ),
    Known(
        "cron-hash-and-question-mark",
        "cron_valid",
        "deliberate",
        "ADR 0008 (proposed entry 28: cron validity)",
        "Arco refuses `#` (nth weekday) and `?`, which croniter accepts.",
        _arco_refuses_hash_or_question_mark,
    ),
    # automation
    Known(
        "execution-failed-outlives-runless-materialization",
        "automation",
        "deliberate",
        "ADR 0008 §37",
        "Dagster keeps an unpartitioned asset's execution_failed() true after a materialization "
        "reported outside any run; Arco has no such materializations, and any later "
        "materialization clears a failure (as Dagster does for partitions).",
        _execution_failed_outlives_runless,
    ),
    Known(
        "automation-range-runs-not-backfills",
        "automation_runs",
        "deliberate",
        "ADR 0008 §37",
        "An asset with several partitions requested at once: Dagster's automation sensor emits a "
        "backfill (or one run per partition without emit_backfills); Arco requests one run per "
        "contiguous range of them, with the assets that requested the same partitions.",
        _range_runs_not_backfills,
    ),
    # partitions
    Known(
        "key-must-be-a-window-start",
        "partitions",
        "deliberate",
        "ADR 0008 §9",
        "Dagster's has_partition_key accepts any in-range string that formats back to itself "
        "(`2024-09-11-05:30` for hourly partitions, a time in a DST gap); Arco wants the key of "
        "a window start.",
        _unaligned_key,
    ),
    Known(
        "key-for-timestamp-outside-partitions",
        "partitions",
        "deliberate",
        "ADR 0008 (proposed entry 29: key for an instant outside the partitions)",
        "For an instant before the first partition or in an excluded window Dagster names a "
        "key anyway; Arco answers None.",
        _key_for_timestamp_outside,
    ),
    Known(
        "end-inside-the-first-window",
        "partitions",
        "deliberate",
        "ADR 0008 §38",
        "An end date inside the first window: Arco has no partition; Dagster lists the first "
        "window (its first key), names the window before it as its last key, and refuses that "
        "key in has_partition_key.",
        _end_inside_the_first_window,
    ),
    # mappings
    Known(
        "multi-nonexistent-as-whole-keys",
        "mappings",
        "deliberate",
        "ADR 0008 (proposed entry 30: partition mapping reports)",
        "Required-but-nonexistent upstream keys of a multi mapping: Arco names whole multi "
        "keys (`red|2024-01-05`), Dagster the bare dimension key (`2024-01-05`).",
        _multi_nonexistent_as_whole_keys,
    ),
    Known(
        "dagster-shortcut-before-upstream-start",
        "mappings",
        "deliberate",
        "ADR 0008 (proposed entry 30: partition mapping reports)",
        "Downstream windows entirely before the upstream's first partition: Dagster reports "
        "the upstream windows starting inside them (offsets ignored) as nonexistent; Arco the "
        "windows overlapping the offset window, as for any other window.",
        _dagster_shortcut_before_upstream_start,
    ),
    # selection
    Known(
        "unknown-key-is-an-error",
        "selection",
        "deliberate",
        "ADR 0008 (proposed entry 31: selection strings)",
        "An exact key:x naming no asset: Arco refuses the selection, Dagster selects nothing.",
        _unknown_key_is_an_error,
    ),
    Known(
        "selection-syntax-superset",
        "selection",
        "deliberate",
        "ADR 0008 (proposed entry 31: selection strings)",
        "Strings Dagster refuses and Arco reads: bare values inside expressions, `*` with "
        "traversal (`+*`, `*+1`), wildcards in group/tag/owner/kind values, `key:*` in "
        "expressions.",
        _superset_syntax,
    ),
    # staleness
    Known(
        "upstream-missing-is-stale",
        "staleness",
        "deliberate",
        "ADR 0008 §23 (amendment proposed)",
        "A partition materialized before an upstream partition it reads ever was: Arco STALE "
        "with UPSTREAM_MISSING until the upstream is materialized; Dagster FRESH.",
        _without_upstream_missing,
    ),
    Known(
        "null-input-version",
        "data_versions_e2e",
        "deliberate",
        "ADR 0008 §23 (amendment proposed)",
        "An input never materialized: Dagster INITIAL; Arco NULL (unpartitioned) or the hash "
        "of the partitions read (none), so the derived data version differs.",
        _null_input_version,
    ),
    # data versions
)
