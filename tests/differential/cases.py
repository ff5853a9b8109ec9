"""The differential cases, generated at test time from fixed seeds.

Each family draws from its own `random.Random(seed)`, so two runs (and two machines) execute
the same cases, and adding cases to one family does not change another. A case is a JSON
object: `id`, `family`, and what `scripts/dagster_oracle.py` and `tests/differential/arco_side`
need to answer it. Nothing here calls Arco or Dagster: the generators only know calendars
(`zoneinfo`) and the families' input grammars.
"""

from __future__ import annotations

import functools
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

Case = dict[str, Any]

SEED = 20240310  # New York's 2024 spring-forward day

# Zones with every kind of offset change: none, northern and southern DST, half-hour offsets
# with and without DST, a 30-minute DST shift (Lord Howe), a 45-minute offset, Morocco's
# Ramadan suspension, a zone that dropped DST (Sao Paulo, 2019).
CRON_ZONES = (
    "UTC",
    "UTC",
    "America/New_York",
    "America/New_York",
    "Europe/Berlin",
    "Europe/Berlin",
    "Australia/Sydney",
    "Europe/London",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "America/St_Johns",
    "Pacific/Auckland",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "America/Sao_Paulo",
    "Africa/Casablanca",
)
PARTITION_ZONES = (
    "UTC",
    "UTC",
    "America/New_York",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Sydney",
    "Asia/Kolkata",
    "America/St_Johns",
)
MAPPING_ZONES = ("UTC", "UTC", "America/New_York", "Europe/Berlin", "Australia/Sydney")


# --------------------------------------------------------------------------- calendars


@functools.lru_cache(maxsize=512)
def transitions(tz: str, year: int) -> tuple[int, ...]:
    """The UTC offset changes of `tz` during `year` (epoch seconds, to the second)."""
    zone = ZoneInfo(tz)
    start = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())

    def offset(t: int) -> timedelta | None:
        return datetime.fromtimestamp(t, zone).utcoffset()

    found = []
    step = 6 * 3600
    t, current = start, offset(start)
    while t < end:
        nxt = min(t + step, end)
        if offset(nxt) != current:
            lo, hi = t, nxt
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(mid) == current:
                    lo = mid
                else:
                    hi = mid
            found.append(hi)
            current = offset(hi)
            t = hi
        else:
            t = nxt
    return tuple(found)


def _instant(r: random.Random, tz: str, years: tuple[int, int], near_transition: float) -> int:
    """A whole-second instant in `years`, near one of the zone's offset changes with
    probability `near_transition`, often aligned to a minute or an hour."""
    year = r.randint(*years)
    changes = transitions(tz, year)
    if changes and r.random() < near_transition:
        t = r.choice(changes) + r.randint(-2 * 86_400, 2 * 86_400)
    else:
        t = int(datetime(year, 1, 1, tzinfo=UTC).timestamp()) + r.randint(0, 365 * 86_400)
    alignment = r.random()
    if alignment < 0.3:
        t -= t % 3600
    elif alignment < 0.6:
        t -= t % 60
    return t


def _wall(ts: int, tz: str) -> datetime:
    return datetime.fromtimestamp(ts, ZoneInfo(tz))


# --------------------------------------------------------------------------- cron


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


def _range(r: random.Random, low: int, high: int) -> tuple[int, int]:
    a = r.randint(low, high - 1)
    return a, r.randint(a + 1, high)


def _minute(r: random.Random) -> str:
    roll = r.random()
    if roll < 0.35:
        return "0"
    if roll < 0.5:
        return str(r.randint(0, 59))
    if roll < 0.65:
        return f"*/{r.choice((5, 10, 15, 20, 30, 7, 45))}"
    if roll < 0.72:
        a, b = _range(r, 0, 59)
        return f"{a}-{b}"
    if roll < 0.78:
        a, b = _range(r, 0, 59)
        return f"{a}-{b}/{r.randint(2, 20)}"
    if roll < 0.9:
        return ",".join(str(v) for v in sorted(r.sample(range(60), r.randint(2, 3))))
    if roll < 0.95:
        return f"{r.randint(0, 30)}/{r.choice((10, 15, 20))}"
    return "*"


def _hour(r: random.Random) -> str:
    roll = r.random()
    if roll < 0.25:
        return "*"
    if roll < 0.5:
        return str(r.choice((0, 1, 2, 3, 2, 1, 0, 12, 23, r.randint(0, 23))))
    if roll < 0.62:
        return f"*/{r.choice((2, 3, 4, 6, 12, 5, 7))}"
    if roll < 0.72:
        a, b = _range(r, 0, 23)
        return f"{a}-{b}"
    if roll < 0.85:
        return ",".join(str(v) for v in sorted(r.sample((0, 1, 2, 3, 4, 12, 22, 23), 3)))
    if roll < 0.92:
        a, b = _range(r, 0, 23)
        return f"{a}-{b}/{r.randint(2, 5)}"
    return f"{r.randint(0, 5)}/{r.choice((2, 3, 6))}"


def _dom(r: random.Random) -> str:
    roll = r.random()
    if roll < 0.6:
        return "*"
    if roll < 0.75:
        return str(r.choice((1, 15, 28, 29, 30, 31, r.randint(1, 31))))
    if roll < 0.82:
        a, b = _range(r, 1, 31)
        return f"{a}-{b}"
    if roll < 0.88:
        return f"*/{r.choice((2, 5, 10))}"
    if roll < 0.95:
        return ",".join(str(v) for v in sorted(r.sample(range(1, 32), 2)))
    return "L"


def _month(r: random.Random) -> str:
    roll = r.random()
    if roll < 0.7:
        return "*"
    if roll < 0.78:
        return str(r.randint(1, 12))
    if roll < 0.84:
        a, b = _range(r, 1, 12)
        return f"{a}-{b}"
    if roll < 0.9:
        return r.choice(_MONTHS)
    if roll < 0.95:
        return ",".join(sorted(r.sample(_MONTHS, 2), key=_MONTHS.index))
    return f"*/{r.choice((2, 3, 6))}"


def _dow(r: random.Random) -> str:
    roll = r.random()
    if roll < 0.6:
        return "*"
    if roll < 0.7:
        return str(r.randint(0, 7))
    if roll < 0.77:
        return "1-5"
    if roll < 0.82:
        return r.choice(("MON-FRI", "mon-fri", "SAT,SUN", "sun"))
    if roll < 0.87:
        return r.choice(_DAYS)
    if roll < 0.92:
        return ",".join(str(v) for v in sorted(r.sample(range(7), 2)))
    if roll < 0.96:
        a, b = _range(r, 0, 6)
        return f"{a}-{b}"
    return "*/2"


def random_cron(r: random.Random) -> str:
    if r.random() < 0.05:
        return r.choice(("@daily", "@hourly", "@weekly", "@monthly", "@yearly", "@midnight"))
    return " ".join((_minute(r), _hour(r), _dom(r), _month(r), _dow(r)))


# Shapes Dagster's fast paths and DST rules single out (reference notes §2.2).
_CRON_CLASSICS = (
    "0 2 * * *",
    "30 2 * * *",
    "0 1 * * *",
    "0 * * * *",
    "*/15 * * * *",
    "*/30 * * * *",
    "0 1,2,3 * * *",
    "0 2 * * 0",
    "0 0 29 2 *",
    "0 0 31 * *",
    "0 9 * * 1-5",
    "*/90 * * * *",
    "15 3 * * *",
    "0 0 1 * *",
    "45 2 * * 6",
    "0 0 28 * *",
    "0 2 15 * *",
    "30 1 * * *",
    "0 0,12 * * *",
    "0 0 * * *",
)


def cron_cases() -> list[Case]:
    r = random.Random(SEED + 1)
    cases: list[Case] = []
    for i in range(360):
        tz = r.choice(CRON_ZONES)
        cron: str | list[str]
        if i < 2 * len(_CRON_CLASSICS):
            cron = _CRON_CLASSICS[i % len(_CRON_CLASSICS)]
            tz = ("America/New_York", "Europe/Berlin", "Australia/Sydney", "UTC")[i % 4]
        elif i % 15 == 0:
            cron = [random_cron(r) for _ in range(r.randint(2, 3))]
        else:
            cron = random_cron(r)
        descending = r.random() < 0.3
        start = _instant(r, tz, (2019, 2031), near_transition=0.6)
        cases.append(
            {
                "id": f"cron-{i:04d}",
                "family": "cron",
                "cron": cron,
                "tz": tz,
                "start": start,
                "n": 8 if descending else 12,
                "descending": descending,
            }
        )
    return cases


# Reversed ranges with steps in every field, where the step continues past the wrap (a
# review found Arco counting it differently from Dagster).
_CRON_WRAPS = (
    "0 0 28-4/3 * *",
    "0 0 25-5/4 * *",
    "0 0 31-3/2 * *",
    "0 0 27-4/3 * *",
    "0 0 28-4/2 * *",
    "0 0 20-10/5 * *",
    "50-10/7 * * * *",
    "45-15/20 * * * *",
    "0 22-3/2 * * *",
    "0 20-4/3 * * *",
    "0 0 1 11-2/2 *",
    "0 0 1 10-3/3 *",
    "0 0 1 9-4/4 *",
    "0 0 * * 5-2/2",
    "0 0 * * 6-3/4",
    "0 0 * * FRI-TUE/3",
    # one-value ranges: the value in Arco, the whole cycle in Dagster (ADR 0008 §39)
    "0 0 * * 5-5",
    "0 0 3-3 * *",
    "0 3-3/6 * * *",
    "0 0 * * SUN-SUN",
)


def cron_wrap_cases() -> list[Case]:
    r = random.Random(SEED + 12)
    cases: list[Case] = []
    for i, cron in enumerate(_CRON_WRAPS * 2):
        tz = ("UTC", "America/New_York", "Europe/Berlin", "Australia/Sydney")[i % 4]
        descending = i >= len(_CRON_WRAPS)
        cases.append(
            {
                "id": f"cron-wrap-{i:02d}",
                "family": "cron",
                "cron": cron,
                "tz": tz,
                "start": _instant(r, tz, (2019, 2031), near_transition=0.3),
                "n": 12,
                "descending": descending,
            }
        )
    return cases


# Zones whose clocks change outside 01:00-03:59 local, where Dagster places a wall time that
# does not exist or repeats differently (docs/parity/differential.md), with the years they did:
# midnight changes (Santiago, Havana, Asuncion, Cairo, Beirut, Tehran, Amman, Gaza, Sao Paulo),
# a gap across midnight (Nuuk, Scoresbysund, Pyongyang), a gap not on the hour (Chatham) and a
# negative DST (Casablanca). New York and Lord Howe are the controls.
DST_ZONES = (
    ("America/Santiago", (2016, 2024)),
    ("America/Havana", (2012, 2024)),
    ("America/Asuncion", (2016, 2024)),
    ("Africa/Cairo", (2014, 2024)),
    ("Asia/Beirut", (2016, 2024)),
    ("America/Nuuk", (2012, 2025)),
    ("Asia/Tehran", (2012, 2020)),
    ("Asia/Amman", (2012, 2020)),
    ("Asia/Gaza", (2016, 2024)),
    ("Pacific/Chatham", (2012, 2024)),
    ("Africa/Casablanca", (2020, 2024)),
    ("America/Scoresbysund", (2012, 2025)),
    ("Asia/Pyongyang", (2018, 2018)),
    ("America/Sao_Paulo", (2012, 2016)),
    ("America/New_York", (2016, 2024)),
    ("Australia/Lord_Howe", (2016, 2024)),
)


def cron_dst_cases() -> list[Case]:
    """Crons naming a wall time just before, inside or just after a change of clocks in the
    zones above: daily, weekly and monthly (Dagster's fast paths) and two-hour lists (its
    croniter path), ascending and descending from two days away."""
    r = random.Random(SEED + 11)
    cases: list[Case] = []
    for tz, years in DST_ZONES:
        zone = ZoneInfo(tz)
        for change in [t for y in range(years[0], years[1] + 1) for t in transitions(tz, y)]:
            before = datetime.fromtimestamp(change - 1, zone).replace(tzinfo=None)
            after = datetime.fromtimestamp(change, zone).replace(tzinfo=None)
            for wall in (before + timedelta(seconds=1), after):
                minute = r.choice((0, 15, 30, 45))
                hour = (wall + timedelta(minutes=r.choice((-60, -30, 0, 15)))).hour
                cron = r.choice(
                    (
                        f"{minute} {hour} * * *",
                        f"{minute} {hour} * * {after.isoweekday() % 7}",
                        f"{minute} {hour} {min(after.day, 28)} * *",
                        f"{minute} {hour},{(hour + 12) % 24} * * *",
                    )
                )
                descending = r.random() < 0.4
                start = change + (2 if descending else -2) * 86_400 + r.randint(-3600, 3600)
                cases.append(
                    {
                        "id": f"cron-dst-{len(cases):04d}",
                        "family": "cron",
                        "cron": cron,
                        "tz": tz,
                        "start": start,
                        "n": 5,
                        "descending": descending,
                    }
                )
    return cases


_CRON_VALIDITY_FIXED = (
    "0 0 30 2 *",
    "0 0 31 2 *",
    "0 0 31 4 *",
    "0 0 31 4,5 *",
    "0 0 30 2,3 *",
    "0 0 29 2 *",
    "40 1 31 2 0",
    "0 0 30 FEB MON-FRI",
    "*/90 * * * *",
    "0 0 L * *",
    "0 0 * * 7",
    "0 0 * * 1#2",
    "0 0 * * 5L",
    "0 0 ? * *",
    "0 0 1W * *",
    "0 0 * * * *",
    "0 0 * *",
    "60 * * * *",
    "0 24 * * *",
    "0 0 0 * *",
    "0 0 32 * *",
    "0 0 * 13 *",
    "0 0 * 0 *",
    "0 0 * * 8",
    "5-1 * * * *",
    "0 22-2 * * *",
    "0 0 * * FRI-MON",
    "0 0 * DEC-FEB *",
    "*/0 * * * *",
    "H * * * *",
    "@daily",
    "@DAILY",
    "@reboot",
    "@every 5m",
    "@annually",
    "@midnight",
    "",
    "  0 0 * * *  ",
    "0\t0 * * *",
    "0 0 * * mon",
    "0 0 * jan *",
    "0 0 * January *",
    "0 0 * * Monday",
    "0-59/15 * * * *",
    "*/15/2 * * * *",
    "1,,2 * * * *",
    "0 0 1-31 * *",
    "0 0 1-31 * 1",
    "0 0 * * 0-7",
    "0 0 * * 7-1",
    "0 0 L * 1",
    "0 0 LW * *",
    "0 0 L-2 * *",
    "0 0 15 * L",
    "0 0 ** * *",
    "00 00 * * *",
    "0 0 01 01 *",
    "-1 * * * *",
    "0 0 * * SUN-SAT",
    "0 0 * * 1-5/2",
    "0 0 */31 * *",
    "0 0 1/0 * *",
)


def cron_validity_cases() -> list[Case]:
    r = random.Random(SEED + 2)
    strings = list(_CRON_VALIDITY_FIXED)
    junk = ("L", "7", "0", "32", "*/0", "1#3", "W", "?", "MON", "feb", "1-", "-", "5/", "24")
    for _ in range(60):
        fields = random_cron(r).split(" ")
        if len(fields) == 5:
            fields[r.randrange(5)] = r.choice(junk)
        strings.append(" ".join(fields))
    return [
        {"id": f"cron_valid-{i:04d}", "family": "cron_valid", "cron": s}
        for i, s in enumerate(dict.fromkeys(strings))
    ]


# --------------------------------------------------------------------------- partitions

DAILY_FORMATS = (None, None, None, "%Y%m%d", "%Y/%m/%d", "%d.%m.%Y")
HOURLY_FORMATS = (None, None, None, "%Y-%m-%dT%H:%M", "%Y%m%d%H%M", "%Y-%m-%d-%H:%M%z")
CUSTOM_CRONS = (
    ("*/15 * * * *", "%Y-%m-%d-%H:%M", 2),
    ("0 */6 * * *", "%Y-%m-%d-%H:%M", 20),
    ("0 9 * * 1-5", "%Y-%m-%d", 60),
    ("30 1 * * *", "%Y-%m-%d", 60),
    ("0 0 1 */3 *", "%Y-%m-%d", 1000),
    ("0 0 * * 1,4", "%Y-%m-%d", 120),
    ("0 12 15 * *", "%Y-%m-%d", 700),
    ("0 0 */2 * *", "%Y-%m-%d", 90),
    ("0 2 * * *", "%Y-%m-%d", 60),
    ("30 * * * *", "%Y-%m-%d-%H:%M", 6),
)
# (class, days of history to span at most)
_SPANS = {"hourly": 8, "daily": 150, "weekly": 700, "monthly": 1500}


def _fmt_default(kind: str) -> str:
    return "%Y-%m-%d-%H:%M" if kind == "hourly" else "%Y-%m-%d"


def random_time_partitions(
    r: random.Random,
    tz: str,
    kind: str,
    now: int,
    span_days: int | None = None,
    custom_fmt: bool = True,
) -> dict[str, Any]:
    """A time-window partitions spec of `kind`, starting some time before `now`."""
    fmt: str | None
    if kind == "cron":
        cron, fmt, span = r.choice(CUSTOM_CRONS)
    else:
        span = _SPANS[kind]
        fmt = r.choice(HOURLY_FORMATS if kind == "hourly" else DAILY_FORMATS)
        if not custom_fmt:
            fmt = None
    span = span_days or span
    start = now - r.randint(0, span * 86_400)
    if r.random() < 0.08:  # not started yet: the first window opens after `now`
        start = now + r.randint(0, max(1, span // 20) * 86_400)
    wall = _wall(start, tz)
    shown = fmt or _fmt_default(kind)
    if kind in ("hourly",) or (kind == "cron" and "%H" in shown):
        wall = wall.replace(minute=r.choice((0, 0, 0, 30, wall.minute)), second=0)
    spec: dict[str, Any] = {
        "class": kind,
        "start": wall.strftime(shown),
        "timezone": tz,
        "fmt": fmt,
        "end_offset": r.choice((0, 0, 0, 0, 1, 1, 2, -1, -2)),
    }
    if kind == "cron":
        spec["cron"] = cron
        spec["fmt"] = fmt
        if r.random() < 0.2 and "%H" not in fmt:
            spec["exclusions"] = [r.choice(("0 0 * * 6,0", "0 9 * * 1", "0 0 1 * *"))]
    if kind == "daily" and r.random() < 0.15:
        spec["exclusions"] = [r.choice(("0 0 * * 6,0", "0 0 * * 1", "0 0 1 * *"))]
    if kind == "hourly" and r.random() < 0.4:
        spec["minute_offset"] = r.choice((0, 15, 30, 45))
    if kind in ("daily", "weekly", "monthly") and r.random() < 0.4:
        spec["minute_offset"] = r.choice((0, 0, 30))
        spec["hour_offset"] = r.choice((0, 1, 2, 3, 12, 23))
    if kind == "weekly" and r.random() < 0.5:
        spec["day_offset"] = r.randint(0, 6)
    if kind == "monthly" and r.random() < 0.5:
        spec["day_offset"] = r.choice((1, 2, 15, 28, 0))
    if r.random() < 0.2:
        end = _wall(now + r.randint(-span * 86_400 // 3, span * 86_400 // 3), tz)
        if end.timestamp() > start + 86_400:
            spec["end"] = end.strftime(shown)
    spec["_start_ts"] = start  # for the generator only (queries around the partitions)
    return spec


def _candidates(r: random.Random, spec: dict[str, Any], now: int) -> list[str]:
    """Strings that may or may not be keys: instants formatted in the zone, and wall times on
    transition days (inside a spring-forward gap, in a repeated hour)."""
    tz = spec["timezone"]
    shown = spec["fmt"] or _fmt_default(spec["class"])
    out = []
    for _ in range(2):
        t = now - r.randint(0, 10 * 86_400)
        out.append(_wall(t - t % 3600, tz).strftime(shown))
    changes = transitions(tz, _wall(now, tz).year)
    if changes:
        change = _wall(r.choice(changes), tz)
        for hour, minute in ((1, 0), (2, 0), (2, 30), (3, 0)):
            naive = change.replace(tzinfo=None).replace(hour=hour, minute=minute)
            out.append(naive.strftime(shown.replace("%z", "")))
        out.append(change.strftime(shown))
    return list(dict.fromkeys(out))


def partition_cases() -> list[Case]:
    r = random.Random(SEED + 3)
    kinds = ("hourly", "hourly", "daily", "daily", "daily", "weekly", "monthly", "cron", "cron")
    cases: list[Case] = []
    for i in range(170):
        tz = r.choice(PARTITION_ZONES)
        kind = r.choice(kinds)
        now = _instant(r, tz, (2023, 2025), near_transition=0.5 if kind == "hourly" else 0.2)
        if r.random() < 0.2:  # exactly on a local midnight: a window closes right now
            midnight = _wall(now, tz).replace(hour=0, minute=0, second=0)
            now = int(midnight.timestamp())
        spec = random_time_partitions(r, tz, kind, now)
        start = min(spec["_start_ts"], now)
        queries = []
        for q in range(4):
            # the first before the first partition, the others inside or just past the last
            t = start - r.randint(0, 3 * 86_400) if q == 0 else r.randint(start, now + 2 * 86_400)
            if r.random() < 0.5:
                t -= t % 3600
            queries.append([t, r.random() < 0.4])
        spec.pop("_start_ts")
        cases.append(
            {
                "id": f"partitions-{i:04d}",
                "family": "partitions",
                "def": spec,
                "now": now,
                "sample": [0, -1, r.randint(0, 400), r.randint(-50, -1)],
                "ts_queries": queries,
                "candidates": _candidates(r, spec, now),
            }
        )
    return cases


def _ts(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


# Shapes the reference notes verified (dagster-semantics.md §5.1), and the smallest
# reproductions of the disagreements this suite found.
_FIXED_PARTITIONS: tuple[tuple[str, dict[str, Any], str], ...] = (
    (
        "hourly-ny-fall-back",
        {"class": "hourly", "start": "2024-11-02-00:00", "timezone": "America/New_York"},
        "2024-11-04T12:00:00+00:00",
    ),
    (
        "hourly-ny-spring-forward",
        {"class": "hourly", "start": "2024-03-09-00:00", "timezone": "America/New_York"},
        "2024-03-11T12:00:00+00:00",
    ),
    (
        "hourly-berlin-fall-back",
        {"class": "hourly", "start": "2024-10-26-00:00", "timezone": "Europe/Berlin"},
        "2024-10-28T12:00:00+00:00",
    ),
    (
        "hourly-ny-fall-back-fmt-z",
        {
            "class": "hourly",
            "start": "2024-11-02-00:00-0400",
            "timezone": "America/New_York",
            "fmt": "%Y-%m-%d-%H:%M%z",
        },
        "2024-11-04T12:00:00+00:00",
    ),
    (
        # Nuuk's clocks jump from 23:00 to 00:00: the 23:30 of 2024-03-30 does not exist
        "daily-nuuk-gap-across-midnight",
        {
            "class": "daily",
            "start": "2024-03-25",
            "timezone": "America/Nuuk",
            "hour_offset": 23,
            "minute_offset": 30,
        },
        "2024-04-04T12:00:00+00:00",
    ),
    (
        # Santiago's clocks go back from 24:00 to 23:00: 23:30 of 2024-04-06 happens twice
        "daily-santiago-repeat-before-midnight",
        {
            "class": "daily",
            "start": "2024-04-01",
            "timezone": "America/Santiago",
            "hour_offset": 23,
            "minute_offset": 30,
        },
        "2024-04-10T12:00:00+00:00",
    ),
    (
        "daily-ny",
        {"class": "daily", "start": "2024-03-01", "timezone": "America/New_York"},
        "2024-03-20T12:00:00+00:00",
    ),
    (
        "daily-exact-boundary",
        {"class": "daily", "start": "2024-01-01"},
        "2024-01-10T00:00:00+00:00",
    ),
    ("weekly-from-monday", {"class": "weekly", "start": "2024-01-01"}, "2024-03-01T00:00:00+00:00"),
    ("monthly-mid-month", {"class": "monthly", "start": "2024-01-15"}, "2024-06-01T00:00:00+00:00"),
    (
        "daily-end-date-end-offset",
        {"class": "daily", "start": "2024-01-01", "end": "2024-01-05", "end_offset": 2},
        "2024-02-01T00:00:00+00:00",
    ),
    (
        "repro-negative-end-offset-after-end-date",
        {"class": "daily", "start": "2024-01-01", "end": "2024-01-05", "end_offset": -1},
        "2024-02-01T00:00:00+00:00",
    ),
    (
        "repro-end-offset-counts-excluded-windows",
        {"class": "daily", "start": "2024-01-01", "end_offset": 1, "exclusions": ["0 0 * * 6"]},
        "2024-01-06T00:00:00+00:00",
    ),
    (
        "repro-end-offset-before-the-first-window",
        {"class": "daily", "start": "2024-01-10", "end_offset": 2},
        "2024-01-09T12:00:00+00:00",
    ),
    # Before the first window, an end offset counts kept windows only (found by mutation
    # testing: Arco counted the excluded first window and showed no partition)
    (
        "repro-end-offset-before-an-excluded-first-window",
        {"class": "daily", "start": "2024-01-06", "end_offset": 1, "exclusions": ["0 0 * * 6"]},
        "2024-01-05T23:59:00+00:00",
    ),
    (
        "repro-end-offset-two-before-an-excluded-first-window",
        {"class": "daily", "start": "2024-01-06", "end_offset": 2, "exclusions": ["0 0 * * 6"]},
        "2024-01-04T12:00:00+00:00",
    ),
    (
        "repro-end-offset-over-an-excluded-weekend-before-the-start",
        {"class": "daily", "start": "2024-01-08", "end_offset": 2, "exclusions": ["0 0 * * 6,0"]},
        "2024-01-05T12:00:00+00:00",
    ),
    # A negative end offset steps back over kept windows from the last kept one ended (found by
    # mutation testing: Arco stepped back from the last window ended, excluded or not)
    (
        "repro-negative-end-offset-after-an-excluded-window",
        {"class": "daily", "start": "2024-01-01", "end_offset": -1, "exclusions": ["0 0 * * 6"]},
        "2024-01-07T12:00:00+00:00",
    ),
    (
        "repro-negative-end-offset-two-over-an-excluded-weekend",
        {"class": "daily", "start": "2024-01-01", "end_offset": -2, "exclusions": ["0 0 * * 6,0"]},
        "2024-01-09T00:00:00+00:00",
    ),
    (
        # Deliberate (ADR 0008 §38): an end inside the first window leaves no partition
        "end-inside-the-first-window",
        {
            "class": "cron",
            "cron": "0 0 * * *",
            "fmt": "%Y-%m-%d-%H:%M",
            "start": "2024-01-01-00:00",
            "end": "2024-01-01-12:00",
        },
        "2024-01-03T00:00:00+00:00",
    ),
    (
        "repro-end-offset-three-over-an-excluded-weekend-before-the-start",
        {"class": "daily", "start": "2024-01-08", "end_offset": 4, "exclusions": ["0 0 * * 6,0"]},
        "2024-01-05T12:00:00+00:00",
    ),
)


def fixed_partition_cases() -> list[Case]:
    cases = []
    for name, spec, now in _FIXED_PARTITIONS:
        full = {"timezone": "UTC", "fmt": None, "end_offset": 0, **spec}
        t = _ts(now)
        cases.append(
            {
                "id": f"partitions-{name}",
                "family": "partitions",
                "def": full,
                "now": t,
                "sample": [0, 1, -2, -1],
                "ts_queries": [[t - 86_400, False], [t - 86_400, True], [t - 3600, False]],
                "candidates": [],
            }
        )
    return cases


# --------------------------------------------------------------------------- mappings

_COLORS = ("red", "blue", "green", "amber", "teal")


def _static(r: random.Random, pool: tuple[str, ...] = _COLORS) -> dict[str, Any]:
    keys = r.sample(pool, r.randint(2, len(pool)))
    return {"class": "static", "keys": keys}


def _time_def(r: random.Random, tz: str, kind: str, now: int) -> dict[str, Any]:
    spec = random_time_partitions(
        r, tz, kind, now, span_days={"hourly": 5}.get(kind), custom_fmt=False
    )
    spec.pop("_start_ts")
    spec.pop("exclusions", None)
    if r.random() < 0.7:
        spec.pop("end", None)
    return spec


_TW_PAIRS = (
    ("daily", "daily"),
    ("daily", "daily"),
    ("hourly", "daily"),
    ("daily", "hourly"),
    ("daily", "weekly"),
    ("weekly", "daily"),
    ("daily", "monthly"),
    ("monthly", "daily"),
    ("hourly", "hourly"),
    ("weekly", "monthly"),
    ("monthly", "weekly"),
    ("weekly", "weekly"),
)


def _multi(r: random.Random, tz: str, now: int) -> dict[str, Any]:
    date = _time_def(r, tz, "daily", now)
    date["start"] = _wall(now - r.randint(3, 12) * 86_400, tz).strftime("%Y-%m-%d")
    date["end_offset"] = r.choice((0, 0, 1))
    date.pop("end", None)
    names = r.choice((("color", "date"), ("abc", "date"), ("zeta", "date")))
    return {"class": "multi", "dims": {names[0]: _static(r), names[1]: date}}


def _any_partitions(r: random.Random, tz: str, now: int) -> dict[str, Any] | None:
    kind = r.choice(("none", "static", "daily", "hourly", "multi"))
    if kind == "none":
        return None
    if kind == "static":
        return _static(r)
    if kind == "multi":
        return _multi(r, tz, now)
    return _time_def(r, tz, kind, now)


def mapping_cases() -> list[Case]:
    r = random.Random(SEED + 4)
    cases: list[Case] = []
    kinds = (
        ["time_window"] * 10
        + ["identity"] * 2
        + ["all", "last", "last", "static", "static", "specific"]
        + ["multi_to_single"] * 2
        + ["multi"] * 2
        + ["infer"]
    )
    for i in range(260):
        kind = r.choice(kinds)
        tz = r.choice(MAPPING_ZONES)
        now = _instant(r, tz, (2023, 2025), near_transition=0.3)
        case: Case = {"id": f"mapping-{i:04d}", "family": "mapping", "now": now}
        up: Any
        down: Any
        mapping: Any = {"class": kind}
        if kind == "time_window":
            up_kind, down_kind = r.choice(_TW_PAIRS)
            up, down = _time_def(r, tz, up_kind, now), _time_def(r, tz, down_kind, now)
            mapping.update(
                start_offset=r.choice((0, 0, -1, -1, -2, -3, 1)),
                end_offset=r.choice((0, 0, -1, 1, 2)),
                allow_nonexistent=r.random() < 0.3,
            )
        elif kind == "identity":
            if r.random() < 0.5:
                up, down = _static(r), _static(r)
            else:
                up = _time_def(r, tz, "daily", now)
                down = dict(up, start=_time_def(r, tz, "daily", now)["start"])
        elif kind == "all":
            up = r.choice((_static(r), _time_def(r, tz, "daily", now), None))
            down = r.choice((_static(r), _time_def(r, tz, "hourly", now), None))
        elif kind == "last":
            up = r.choice((_static(r), _time_def(r, tz, "daily", now), _multi(r, tz, now)))
            down = r.choice((_static(r), _time_def(r, tz, "daily", now), None))
        elif kind in ("static", "specific"):
            up, down = _static(r), _static(r)
            if kind == "static":
                mapping["mapping"] = {
                    k: r.sample(down["keys"], r.randint(1, 2))
                    for k in r.sample(up["keys"], r.randint(1, len(up["keys"])))
                }
            else:
                mapping["keys"] = r.sample(up["keys"], r.randint(1, 2))
        elif kind == "multi_to_single":
            multi = _multi(r, tz, now)
            names = list(multi["dims"])
            single_name = r.choice(names)
            single = dict(multi["dims"][single_name])
            if single["class"] != "static" and r.random() < 0.3:
                single["start"] = _time_def(r, tz, "daily", now)["start"]
            mapping["dimension"] = single_name if r.random() < 0.6 else None
            up, down = (multi, single) if r.random() < 0.5 else (single, multi)
        elif kind == "multi":
            up = _multi(r, tz, now)
            down = _multi(r, tz, now)
            down["dims"] = dict(zip(up["dims"], down["dims"].values(), strict=True))
            static_name, date_name = list(up["dims"])
            dims: dict[str, Any] = {}
            if r.random() < 0.8:
                dims[date_name] = {
                    "dimension": date_name,
                    "mapping": {
                        "class": "time_window",
                        "start_offset": r.choice((0, -1, -1)),
                        "end_offset": r.choice((0, -1)),
                    },
                }
            if r.random() < 0.7:
                down["dims"][static_name] = up["dims"][static_name]
                dims[static_name] = {"dimension": static_name, "mapping": {"class": "identity"}}
            mapping["dims"] = dims
        else:  # infer the default mapping
            up, down = _any_partitions(r, tz, now), _any_partitions(r, tz, now)
            if up and down and up["class"] == "multi" and down["class"] != "multi":
                down = dict(up["dims"][r.choice(list(up["dims"]))])
            case["infer"] = True
            mapping = None
        case.update(upstream=up, downstream=down, mapping=mapping)
        case["down"] = [r.randint(-30, 30) for _ in range(r.choice((1, 1, 2, 3)))]
        case["up"] = [r.randint(-30, 30) for _ in range(r.choice((1, 1, 2)))]
        cases.append(case)
    return cases


# --------------------------------------------------------------------------- selection

_KEYS = (
    "a",
    "b",
    "c",
    "d",
    "events",
    "events_raw",
    "raw/orders",
    "raw/users",
    "raw/users/pii",
    "mart/report",
    "mart/report_v2",
    "x1",
)
_GROUPS = ("ingest", "mart", "default", "ingest_v2")
_TAGS = (("tier", "gold"), ("tier", "silver"), ("pii", ""), ("tier", ""), ("team", "data"))
_OWNERS = ("team:data", "team:bi", "alice@x.com")
_KINDS = ("python", "dbt", "snowflake")


def random_graph(r: random.Random) -> list[dict[str, Any]]:
    keys = r.sample(_KEYS, r.randint(5, len(_KEYS)))
    assets = []
    for i, key in enumerate(keys):
        earlier = keys[:i]
        deps = r.sample(earlier, min(len(earlier), r.choice((0, 1, 1, 2, 3))))
        asset: dict[str, Any] = {"key": key, "deps": sorted(deps)}
        if r.random() < 0.8:
            asset["group"] = r.choice(_GROUPS)
        tags = dict(r.sample(_TAGS, r.randint(0, 2)))
        if tags:
            asset["tags"] = tags
        if r.random() < 0.5:
            asset["owners"] = r.sample(_OWNERS, r.randint(1, 2))
        if r.random() < 0.5:
            asset["kinds"] = sorted(r.sample(_KINDS, r.randint(1, 2)))
        assets.append(asset)
    return assets


def _quoted(value: str) -> str:
    return f'"{value}"'


def _selection_atom(r: random.Random, assets: list[dict[str, Any]], depth: int) -> str:
    keys = [a["key"] for a in assets]
    roll = r.random()
    if roll < 0.3:
        key = r.choice(keys)
        return f"key:{_quoted(key)}" if "/" in key or r.random() < 0.3 else f"key:{key}"
    if roll < 0.36:
        return r.choice(('key:"raw/*"', "key:*_raw", "key:events*", 'key:"*/report*"', "key:*"))
    if roll < 0.4:
        return r.choice(("key:nope", 'key:"raw/nope"', "nope"))
    if roll < 0.42:
        key = r.choice([k for k in keys if "/" not in k] or keys)
        return key if "/" not in key else _quoted(key)
    if roll < 0.56:
        k, v = r.choice(_TAGS)
        if r.random() < 0.4:
            return f"tag:{k}"
        return f"tag:{k}={v}" if v else f'tag:{k}=""'
    if roll < 0.66:
        return f"group:{r.choice(_GROUPS)}"
    if roll < 0.73:
        return f"owner:{_quoted(r.choice(_OWNERS))}"
    if roll < 0.82:
        return f"kind:{r.choice(_KINDS)}"
    if roll < 0.83:
        return "*"
    if depth < 2 and roll < 0.93:
        return f"{r.choice(('roots', 'sinks'))}({random_selection(r, assets, depth + 1)})"
    return f"({random_selection(r, assets, depth + 1)})"


def _traversed(r: random.Random, assets: list[dict[str, Any]], depth: int) -> str:
    atom = _selection_atom(r, assets, depth)
    roll = r.random()
    if roll < 0.55:
        return atom
    if roll < 0.65:
        return f"+{atom}"
    if roll < 0.75:
        return f"{atom}+"
    if roll < 0.82:
        return f"{r.randint(1, 2)}+{atom}"
    if roll < 0.9:
        return f"{atom}+{r.randint(1, 2)}"
    return f"+{atom}+"


def random_selection(r: random.Random, assets: list[dict[str, Any]], depth: int = 0) -> str:
    text = _traversed(r, assets, depth)
    if r.random() < 0.15:
        text = f"not {text}"
    for _ in range(r.choice((0, 0, 1, 1, 2)) if depth < 2 else 0):
        op = r.choice(("and", "or", "and not", "or"))
        text = f"{text} {op} {_traversed(r, assets, depth + 1)}"
    return text


def _clause(r: random.Random, assets: list[dict[str, Any]]) -> str:
    """Dagster's old op-selection clause: a bare name with `+` (one level each) or `*`."""
    name = r.choice([a["key"] for a in assets])
    up = r.choice(("", "+", "++", "*", ""))
    down = r.choice(("", "+", "++", "*")) if up else r.choice(("+", "++", "*"))
    return f"{up}{name}{down}"


# The reference notes' graph (dagster-semantics.md §12): a -> b -> c -> d -> f, a -> pre/e -> f.
_REFERENCE_GRAPH = [
    {"key": "a", "deps": [], "group": "g1", "tags": {"k": "", "tier": "gold"}},
    {"key": "b", "deps": ["a"], "group": "g1", "owners": ["team:x"]},
    {"key": "c", "deps": ["b"], "group": "g2", "kinds": ["python"]},
    {"key": "d", "deps": ["c"], "group": "g2", "tags": {"k": "v"}},
    {"key": "pre/e", "deps": ["a"], "group": "g2"},
    {"key": "f", "deps": ["d", "pre/e"], "group": "g3"},
]
_REFERENCE_SELECTIONS = (
    "key:a+2",
    "key:a+",
    "+key:f",
    "2+key:f",
    'key:"pre/e"',
    "tag:k",
    "tag:k=v",
    'owner:"team:x"',
    "group:g2 and not kind:python",
    "roots(key:a or key:c)",
    "sinks(key:a or key:c)",
    "roots(group:g2)",
    "sinks(group:g1 or group:g3)",
    "roots(key:b or key:d or key:f)",
    "a+",
    "+d",
    "++d",
    "c*",
    "*c",
    "+c+",
    "key:zzz",
    "key:zzz or key:a",
)


def selection_cases() -> list[Case]:
    r = random.Random(SEED + 5)
    graphs = [random_graph(r) for _ in range(12)]
    cases = []
    for i in range(320):
        assets = graphs[i % len(graphs)]
        text = _clause(r, assets) if i % 10 == 9 else random_selection(r, assets)
        cases.append(
            {"id": f"selection-{i:04d}", "family": "selection", "assets": assets, "selection": text}
        )
    for i, text in enumerate(_REFERENCE_SELECTIONS):
        cases.append(
            {
                "id": f"selection-reference-{i:02d}",
                "family": "selection",
                "assets": _REFERENCE_GRAPH,
                "selection": text,
            }
        )
    return cases


# --------------------------------------------------------------------------- data versions

_DV_KEYS = ("a", "a/b", "a/b/c", "a_b", "ab", "a1", "b", "B", "z", "raw/a", "raw_a", "a/a")


def data_version_cases() -> list[Case]:
    r = random.Random(SEED + 6)
    cases = []
    for i in range(120):
        keys = r.sample(_DV_KEYS, r.choice((0, 1, 1, 2, 2, 3, 4, 5)))
        versions = ("INITIAL", "v1", "v2", "1", "", f"{r.getrandbits(256):064x}")
        cases.append(
            {
                "id": f"data_version-{i:04d}",
                "family": "data_version",
                "code_version": r.choice((None, "1", "2", "v1.0", "x" * 40, "é")),
                "run_id": f"run-{r.getrandbits(64):016x}",
                "inputs": {k: r.choice(versions) for k in keys},
            }
        )
    return cases


# --------------------------------------------------------------------------- staleness


def _stale_graph(r: random.Random, deterministic: bool) -> list[dict[str, Any]]:
    names = ["s0", "s1", "s2", "s3", "s4", "s5"][: r.randint(3, 6)]
    assets: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        asset: dict[str, Any] = {"key": name}
        earlier = names[:i]
        asset["deps"] = [{"key": d} for d in sorted(r.sample(earlier, min(i, r.randint(0, 2))))]
        if i == 0 and r.random() < 0.3:
            asset["external"] = True
            asset["deps"] = []
        elif deterministic or r.random() < 0.7:
            asset["code_version"] = "1"
        assets.append(asset)
    return assets


def staleness_cases() -> list[Case]:
    """Scripted histories on small graphs: materialize subsets, change code versions,
    dependencies and user-provided data versions. `deterministic` scenarios give every
    materializable asset a code version, so their data versions are comparable value for
    value (elsewhere a run id enters the hash)."""
    r = random.Random(SEED + 7)
    cases = []
    for i in range(14):
        deterministic = i % 2 == 0
        initial = _stale_graph(r, deterministic)
        assets = initial
        materializable = [a["key"] for a in assets if not a.get("external")]
        reported = {}
        if r.random() < 0.5:
            reported[r.choice(materializable)] = "v1"
        steps: list[dict[str, Any]] = [{"op": "materialize", "keys": materializable}]
        for _ in range(r.randint(4, 7)):
            roll = r.random()
            if roll < 0.45:
                keys = sorted(r.sample(materializable, r.randint(1, len(materializable))))
                steps.append({"op": "materialize", "keys": keys})
            elif roll < 0.65:
                assets = [dict(a) for a in assets]
                target = r.choice([a for a in assets if not a.get("external")])
                target["code_version"] = str(int(target.get("code_version") or "1") + 1)
                steps.append({"op": "deploy", "assets": assets})
            elif roll < 0.8 and reported:
                key = next(iter(reported))
                steps.append({"op": "report", "key": key, "version": r.choice(("v1", "v2"))})
            else:
                assets = [dict(a) for a in assets]
                index = r.randrange(1, len(assets))
                earlier = [a["key"] for a in assets[:index]]
                deps = sorted(r.sample(earlier, min(len(earlier), r.randint(0, 2))))
                assets[index]["deps"] = [{"key": d} for d in deps]
                steps.append({"op": "deploy", "assets": assets})
        cases.append(
            {
                "id": f"staleness-{i:04d}",
                "family": "staleness",
                "assets": initial,
                "reported": reported,
                "steps": steps,
                "observe": [[a["key"], None] for a in initial],
                "deterministic": deterministic,
            }
        )
    for i in range(14, 22):
        cases.append(_partitioned_staleness_case(r, i))
    return cases + _fixed_staleness_cases()


def _fixed_staleness_cases() -> list[Case]:
    """Small histories: an unpartitioned asset reading the last partition of a daily one; a
    data version through an identity mapping; a dependency materialized after its
    downstream, unpartitioned and through a `start_offset=-1` mapping (as in
    tests/integration/test_staleness_rules.py)."""
    daily = _STALENESS_DAILY
    rolling = {"class": "time_window", "start_offset": -1}
    plain = [
        {"key": "u0", "code_version": "1", "deps": []},
        {"key": "u1", "code_version": "1", "deps": [{"key": "u0"}]},
    ]
    offset = [
        {"key": "p0", "partitions": daily, "code_version": "1", "deps": []},
        {
            "key": "p1",
            "partitions": daily,
            "code_version": "1",
            "deps": [{"key": "p0", "mapping": rolling}],
        },
    ]
    last = [
        {"key": "p", "partitions": daily, "code_version": "1", "deps": []},
        {"key": "u", "code_version": "1", "deps": [{"key": "p", "mapping": {"class": "last"}}]},
    ]
    identity = [
        {"key": "p0", "partitions": daily, "code_version": "1", "deps": []},
        {"key": "p1", "partitions": daily, "code_version": "1", "deps": [{"key": "p0"}]},
    ]
    return [
        {
            "id": "staleness-last-mapping",
            "family": "staleness",
            "assets": last,
            "reported": {},
            "steps": [
                {"op": "materialize", "keys": ["p"], "partition": "2024-01-04"},
                {"op": "materialize", "keys": ["u"]},
                {"op": "deploy", "assets": [{**last[0], "code_version": "2"}, last[1]]},
                {"op": "materialize", "keys": ["p"], "partition": "2024-01-04"},
            ],
            "observe": [["p", "2024-01-04"], ["u", None]],
            "deterministic": True,
        },
        {
            "id": "staleness-partitioned-identity",
            "family": "staleness",
            "assets": identity,
            "reported": {},
            "steps": [{"op": "materialize", "keys": ["p0", "p1"], "partition": "2024-01-01"}],
            "observe": [["p0", "2024-01-01"], ["p1", "2024-01-01"]],
            "deterministic": True,
        },
        {
            "id": "staleness-missing-upstream",
            "family": "staleness",
            "assets": plain,
            "reported": {},
            "steps": [
                {"op": "materialize", "keys": ["u1"]},
                {"op": "materialize", "keys": ["u0"]},
                {"op": "materialize", "keys": ["u1"]},
            ],
            "observe": [["u0", None], ["u1", None]],
            "deterministic": True,
        },
        {
            "id": "staleness-missing-offset-upstream",
            "family": "staleness",
            "assets": offset,
            "reported": {},
            "steps": [
                {"op": "materialize", "keys": ["p0"], "partition": "2024-01-02"},
                {"op": "materialize", "keys": ["p1"], "partition": "2024-01-02"},
                {"op": "materialize", "keys": ["p0"], "partition": "2024-01-01"},
                {"op": "materialize", "keys": ["p1"], "partition": "2024-01-02"},
            ],
            "observe": [["p0", "2024-01-01"], ["p0", "2024-01-02"], ["p1", "2024-01-02"]],
            "deterministic": True,
        },
    ]


_DAYS_OF_STALENESS = ("2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04")
# Four daily partitions whatever the time: `end` caps them, so Dagster (at the real time) and
# Arco (at its fixed clock) see the same keys.
_STALENESS_DAILY = {"class": "daily", "start": "2024-01-01", "end": "2024-01-05"}
_STALENESS_MAPPINGS = (
    None,
    None,
    {"class": "time_window", "start_offset": -1},
    {"class": "time_window", "start_offset": -1, "end_offset": -1},
)


def _partitioned_stale_graph(r: random.Random) -> list[dict[str, Any]]:
    """Daily assets over mappings (identity, the day before, the day and the day before),
    unpartitioned assets next to them (all partitions of a daily parent, the last one, an
    unpartitioned parent of daily assets)."""
    assets: list[dict[str, Any]] = [
        {"key": "p0", "partitions": _STALENESS_DAILY, "code_version": "1", "deps": []},
        {"key": "u0", "code_version": "1", "deps": []},
    ]
    mapping = r.choice(_STALENESS_MAPPINGS)
    assets.append(
        {
            "key": "p1",
            "partitions": _STALENESS_DAILY,
            "code_version": "1",
            "deps": [{"key": "p0", "mapping": mapping}],
        }
    )
    p2_deps: list[dict[str, Any]] = [{"key": "p1", "mapping": r.choice(_STALENESS_MAPPINGS)}]
    if r.random() < 0.5:
        p2_deps.append({"key": "u0"})
    assets.append(
        {"key": "p2", "partitions": _STALENESS_DAILY, "code_version": "1", "deps": p2_deps}
    )
    child: dict[str, Any] = {"key": "u1", "code_version": "1", "deps": [{"key": "p0"}]}
    if r.random() < 0.5:
        child["deps"] = [{"key": "p1", "mapping": {"class": "last"}}]
    assets.append(child)
    return assets


def _partitioned_staleness_case(r: random.Random, i: int) -> Case:
    initial = _partitioned_stale_graph(r)
    partitioned = [a["key"] for a in initial if a.get("partitions")]
    plain = [a["key"] for a in initial if not a.get("partitions")]
    steps: list[dict[str, Any]] = []
    for day in _DAYS_OF_STALENESS[:3]:
        steps.append({"op": "materialize", "keys": partitioned, "partition": day})
    steps.append({"op": "materialize", "keys": plain})
    assets = initial
    for _ in range(r.randint(3, 6)):
        roll = r.random()
        if roll < 0.55:
            keys = sorted(r.sample(partitioned, r.randint(1, len(partitioned))))
            day = r.choice(_DAYS_OF_STALENESS)
            steps.append({"op": "materialize", "keys": keys, "partition": day})
        elif roll < 0.7:
            steps.append({"op": "materialize", "keys": sorted(r.sample(plain, 1))})
        else:
            assets = [dict(a) for a in assets]
            target = r.choice(assets)
            target["code_version"] = str(int(target.get("code_version") or "1") + 1)
            steps.append({"op": "deploy", "assets": assets})
    observe = [
        [a["key"], day] if a.get("partitions") else [a["key"], None]
        for a in initial
        for day in (_DAYS_OF_STALENESS if a.get("partitions") else (None,))
    ]
    return {
        "id": f"staleness-{i:04d}",
        "family": "staleness",
        "assets": initial,
        "reported": {},
        "steps": steps,
        "observe": observe,
        "deterministic": True,
    }


# --------------------------------------------------------------------------- automation

AUTOMATION_SCENARIOS = Path(__file__).parent / "automation_scenarios"

# Conditions a random scenario gives its assets: the composites, their variants, and
# hand-composed trees over every operand and operator (Python expressions, evaluated by each
# side with its own AutomationCondition; `{dep}` names one of the asset's dependencies).
_CONDITIONS = (
    "eager()",
    "eager()",
    "on_missing()",
    "on_cron('0 * * * *')",
    "on_cron('30 */2 * * *')",
    "eager().without(~any_deps_missing())",
    "eager().without(in_latest_time_window())",
    "missing() & ~in_progress()",
    "missing().newly_true().since_last_handled()",
    "any_deps_match(newly_updated()).since_last_handled()",
    "any_deps_updated().since(newly_requested() | newly_updated())",
    "(newly_updated() | missing()).newly_true()",
    "execution_failed() & ~in_progress()",
    "cron_tick_passed('0 * * * *').since_last_handled() & ~any_deps_missing()",
    "all_deps_match(newly_updated()) & ~in_progress()",
    "all_deps_updated_since_cron('0 * * * *')",
    "(eager() | on_cron('0 */3 * * *')).with_label('either')",
    "eager().ignore(AssetSelection.assets('{dep}'))",
    "any_deps_match(missing()).allow(AssetSelection.assets('{dep}')) & newly_requested()",
    "in_latest_time_window(timedelta(days=2)) & missing().newly_true().since_last_handled()",
    "any_downstream_conditions()",
)


def _automation_graph(r: random.Random) -> list[dict[str, Any]]:
    daily = {"type": "daily", "start": "2024-01-01"}
    assets: list[dict[str, Any]] = []
    for i in range(r.randint(3, 6)):
        key = "ABCDEF"[i]
        partitioned = r.random() < 0.3
        asset: dict[str, Any] = {"key": key}
        if partitioned:
            asset["partitions"] = daily
        parents = [a for a in assets if r.random() < 0.6]
        deps: list[Any] = []
        for parent in parents[:2]:
            if partitioned and "partitions" in parent and r.random() < 0.3:
                deps.append(
                    {
                        "key": parent["key"],
                        "mapping": {"time_window": {"start_offset": -1, "end_offset": -1}},
                    }
                )
            else:
                deps.append(parent["key"])
        if deps:
            asset["deps"] = deps
        if i > 0 or r.random() < 0.4:
            condition = r.choice(_CONDITIONS)
            dep_keys = [d if isinstance(d, str) else d["key"] for d in deps]
            if "{dep}" in condition:
                if not dep_keys:
                    condition = "eager()"
                else:
                    condition = condition.replace("{dep}", r.choice(dep_keys))
            asset["condition"] = condition
        assets.append(asset)
    return assets


def _automation_ticks(r: random.Random, assets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    now = datetime(2024, 1, 5, r.choice((0, 9, 22)), r.choice((0, 30, 55)), tzinfo=UTC)
    ticks: list[dict[str, Any]] = []
    open_runs: list[str] = []
    for i in range(r.randint(6, 10)):
        events: list[dict[str, Any]] = []
        for asset in assets:
            if r.random() < (0.35 if "deps" not in asset else 0.08):
                event: dict[str, Any] = {"type": "materialize", "asset": asset["key"]}
                if "partitions" in asset:
                    day = (now - timedelta(days=r.choice((1, 1, 1, 2)))).strftime("%Y-%m-%d")
                    event["partition"] = day
                events.append(event)
        roll = r.random()
        if i and roll < 0.45:
            events.append({"type": "execute_requested", "status": "success"})
        elif i and roll < 0.55:
            events.append({"type": "execute_requested", "status": "failure"})
        elif i and roll < 0.65:
            events.append(
                {"type": "execute_requested", "status": "in_progress", "prefix": f"p{i}_"}
            )
            open_runs.append(f"p{i}_")
        if open_runs and r.random() < 0.5:
            prefix = open_runs.pop(0)
            events.append(
                {"type": "end_runs", "prefix": prefix, "status": r.choice(("success", "failure"))}
            )
        ticks.append({"now": now.isoformat(), "events": events})
        now += timedelta(minutes=r.choice((10, 20, 30, 45, 60, 90)))
    return ticks


def automation_cases() -> list[Case]:
    """The scenarios written by hand from Dagster's documented behaviour (each checked against
    Dagster), then random graphs, conditions and histories."""
    cases: list[Case] = []
    for path in sorted(AUTOMATION_SCENARIOS.glob("*.json")):
        cases.append(
            {
                "id": f"automation-{path.stem}",
                "family": "automation",
                "scenario": json.loads(path.read_text()),
            }
        )
    r = random.Random(SEED + 19)
    for i in range(120):
        assets = _automation_graph(r)
        cases.append(
            {
                "id": f"automation-random-{i:03d}",
                "family": "automation",
                "scenario": {"assets": assets, "ticks": _automation_ticks(r, assets)},
            }
        )
    return cases


@functools.cache
def all_cases() -> list[Case]:
    """Every case of every family (one list per process: do not modify it)."""
    return [
        *cron_cases(),
        *cron_dst_cases(),
        *cron_wrap_cases(),
        *cron_validity_cases(),
        *partition_cases(),
        *fixed_partition_cases(),
        *mapping_cases(),
        *selection_cases(),
        *data_version_cases(),
        *staleness_cases(),
        *automation_cases(),
    ]
