"""The staleness report through the CLI (`arco staleness`) and HTTP
(`/v1/workspaces/{ws}/staleness[/summary]`): table, JSON, CSV and per-asset summary; filters;
stable pages; `as_of` reproducing an earlier answer; bad input as 400 / exit 2 naming it."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from arco.cli import output
from arco.cli.main import cli
from arco.services.queries.staleness import StalenessQuery, staleness, staleness_summary
from tests.fixtures.versions_graph import build
from tests.integration.helpers import api_client, body_of, refused_status
from tests.integration.test_staleness_rules import DAY, T0, World
from tests.workspaces import create_workspaces

URL = "/v1/workspaces/s/staleness"
DAYS = 31  # 2024-01-01 .. 2024-01-31, as of 2024-02-01
ASSETS = 6
# The data versions source[DAY] had and has: Dagster's derivation for an asset with no inputs
# is sha256 of its code version, "1" then "2". Piped, the table shows them whole (a terminal
# shortens them to 6 characters).
SOURCE_V1 = "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"
SOURCE_V2 = "d4735e3a265e16eee03f59718b9b5d03019c07d8b6c51f90da3a666eec13ab35"
# What the world ends with: (asset, partition) -> (status, one line per cause).
STALE_AND_FRESH = {
    ("reported", DAY): ("FRESH", []),
    ("source", "2024-01-01"): ("STALE", ["CODE_VERSION_CHANGED 1→2"]),
    ("source", DAY): ("FRESH", []),
    ("reader", DAY): ("STALE", ["DEPENDENCY_ADDED source"]),
    ("rolling", DAY): ("STALE", [f"UPSTREAM_DATA_CHANGED source[{DAY}] {SOURCE_V1}→{SOURCE_V2}"]),
    ("digest", "2024-01-03"): ("STALE", ["UPSTREAM_MISSING rolling[2024-01-03]"]),
}

# When each STALE partition became stale, worked out from the world's clock (T0, then one
# second per step: deploy 1 s, five runs 2..6 s, deploy of code 2 at 7 s, source[DAY] again at
# 8 s, digest at 9 s): the code change and the new dependency date from the deploy (7 s), the
# new upstream data from source[DAY]'s new materialization (8 s), the missing upstream from
# digest's own materialization (9 s). Never read back from the service under test.
T0_MS = int(T0.timestamp() * 1000)
STALE_SINCE_MS = {
    ("source", "2024-01-01"): T0_MS + 7_000,
    ("reader", DAY): T0_MS + 7_000,
    ("rolling", DAY): T0_MS + 8_000,
    ("digest", "2024-01-03"): T0_MS + 9_000,
}
STALE_SINCE_ISO = {
    ("source", "2024-01-01"): "2024-02-01T00:00:07+00:00",
    ("reader", DAY): "2024-02-01T00:00:07+00:00",
    ("rolling", DAY): "2024-02-01T00:00:08+00:00",
    ("digest", "2024-01-03"): "2024-02-01T00:00:09+00:00",
}

Run = Callable[..., tuple[int, str]]


@dataclass
class Scene:
    world: World
    root: Path
    early_manifest: int  # before the code change: everything materialized was FRESH
    early_answer: dict[str, Any]  # the report at that manifest, asked then


def client_of(world: World) -> FlaskClient:
    return api_client(world.ws, "s")


def build_scene(root: Path) -> Scene:
    world = World(root)
    create_workspaces(world.ws.store, "s")  # as `arco workspace create` does
    world.run("source", "2024-01-01")
    world.run("source")
    world.run("rolling")
    world.run("reported")
    world.run("reader")
    early = world.ws.manifest().manifest_id
    early_answer = body_of(client_of(world).get(f"{URL}?status=FRESH,STALE"))
    assert early_answer["as_of"]["manifest_id"] == early
    # Code version 2 for source, and reader now also reads source; then source[DAY] with the
    # new code (a new data version under rolling), and digest over a missing rolling day.
    deployed_ms = world.deploy(build(source_code="2", reader_deps=("reported", "source")))
    source_ms = world.run("source")
    digest_ms = world.run("digest", "2024-01-03")
    # The clock the expected values above are worked out from.
    assert (deployed_ms, source_ms, digest_ms) == (T0_MS + 7_000, T0_MS + 8_000, T0_MS + 9_000)
    return Scene(world, root, early, early_answer)


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    """Built once: the tests below only read it."""
    return build_scene(tmp_path_factory.mktemp("staleness") / "store")


@pytest.fixture
def http(scene: Scene) -> FlaskClient:
    return client_of(scene.world)


def now_of(world: World) -> datetime:
    return datetime.fromtimestamp(world.ws.clock.now_ms() / 1000, tz=UTC)


def runner_for(world: World, root: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """`arco ...` on the world's store, simulating its clock (--at)."""
    monkeypatch.setattr(output.console, "width", 250)  # tables unwrapped
    monkeypatch.setattr(output.err_console, "width", 250)  # errors on one line
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        at = now_of(world).isoformat()
        options = ["--store", f"file://{root}", "--workspace", "s", "--at", at]
        result = runner.invoke(cli, [*options, *args])
        return result.exit_code, result.output

    return invoke


@pytest.fixture
def run(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> Run:
    return runner_for(scene.world, scene.root, monkeypatch)


def keys_of(page: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(i["asset"], i["partition"]) for i in page["items"]]


def every_page(http: FlaskClient, query: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(items, pages) of a listing followed to its end."""
    items: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    cursor = ""
    for _ in range(100):
        page = body_of(http.get(f"{URL}?{query}&cursor={cursor}"))
        pages.append(page)
        items += page["items"]
        if page["next_cursor"] is None:
            return items, pages
        cursor = page["next_cursor"]
    raise AssertionError("no last page")


# --- the CLI -------------------------------------------------------------------------------


def test_the_table_shows_statuses_causes_and_the_summary(run: Run, scene: Scene) -> None:
    code, out = run("staleness", "--status", "STALE", "--status", "fresh")
    assert code == 0, out
    assert f"{ASSETS * DAYS} partition(s): 2 FRESH, 4 STALE, {ASSETS * DAYS - 6} MISSING" in out
    assert "by reason: CODE_VERSION_CHANGED 1, DEPENDENCY_ADDED 1" in out
    assert f"as of manifest {scene.world.ws.manifest().manifest_id} at 2024-02-01" in out
    rows = table_rows(out)
    assert [(r[0], r[1]) for r in rows] == list(STALE_AND_FRESH)  # dependency order
    for asset, partition, status, since, causes in rows:
        expected_status, expected_causes = STALE_AND_FRESH[(asset, partition)]
        assert status == expected_status and causes == " ".join(expected_causes)
        expected_since = STALE_SINCE_MS.get((asset, partition))
        assert since == (when_ms(expected_since) if expected_since else "")
    assert "--cursor" not in out  # one page holds them all


def test_root_causes_follow_stale_upstreams(run: Run, scene: Scene) -> None:
    code, out = run("staleness", "key:rolling or key:digest", "--status", "STALE", "--root-causes")
    assert code == 0, out
    rolling, digest = table_rows(out)
    # source[DAY] is FRESH again (re-materialized with code 2): the change began there.
    assert rolling[:2] == ["rolling", DAY]
    assert (
        rolling[5] == f"rolling[{DAY}]: UPSTREAM_DATA_CHANGED source[{DAY}] {SOURCE_V1}→{SOURCE_V2}"
    )
    assert digest[5] == "digest[2024-01-03]: UPSTREAM_MISSING rolling[2024-01-03]"


def test_a_table_shows_one_page_and_says_how_to_go_on(run: Run) -> None:
    code, out = run("staleness", "--limit", "3")
    assert code == 0, out
    assert [r[:3] for r in table_rows(out)] == [
        ["reported", "2024-01-01", "MISSING"],
        ["reported", DAY, "FRESH"],
        ["reported", "2024-01-03", "MISSING"],
    ]
    cursor = out.split("--cursor ", 1)[1].split()[0]
    code, more = run("staleness", "--limit", "3", "--cursor", cursor)
    assert code == 0, more
    assert [r[:2] for r in table_rows(more)] == [["reported", f"2024-01-0{d}"] for d in (4, 5, 6)]


def test_json_is_the_service_result(run: Run, scene: Scene, http: FlaskClient) -> None:
    manifest = str(scene.world.ws.manifest().manifest_id)
    code, out = run("staleness", "--json", "--as-of", manifest, "--root-causes", "--limit", "7")
    assert code == 0, out
    printed = json.loads(out)
    query = StalenessQuery(as_of=manifest, root_causes=True, limit=7)
    assert printed == staleness(scene.world.ws, query)
    assert printed == body_of(http.get(f"{URL}?as_of={manifest}&root_causes=true&limit=7"))
    assert len(printed["items"]) == 7 and printed["next_cursor"]
    # Without --as-of: the current state, now (the same answer but for the clock's reading).
    code, out = run("staleness", "--json", "--status", "STALE")
    current = staleness(scene.world.ws, StalenessQuery(statuses=("STALE",)))
    assert code == 0 and json.loads(out)["items"] == current["items"]
    # ... and that answer is the one worked out by hand, not just whatever the service says.
    items = json.loads(out)["items"]
    assert [(i["asset"], i["partition"]) for i in items] == list(STALE_SINCE_MS)
    for item in items:
        key = (item["asset"], item["partition"])
        assert item["status"] == "STALE"
        assert item["stale_since_ms"] == STALE_SINCE_MS[key]
        assert item["stale_since"] == STALE_SINCE_ISO[key]
        assert [c["since_ms"] for c in item["causes"]] == [STALE_SINCE_MS[key]]
    assert json.loads(out)["as_of"]["manifest_id"] == current["as_of"]["manifest_id"]


def test_csv_has_a_header_and_every_partition_across_pages(run: Run, scene: Scene) -> None:
    code, out = run("staleness", "--csv", "--limit", "5")
    assert code == 0, out
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["asset", "partition", "status", "stale_since", "reasons"]
    body = rows[1:]
    assert len(body) == ASSETS * DAYS  # 38 pages of 5
    assert len({(r[0], r[1]) for r in body}) == len(body)
    by_key = {(r[0], r[1]): r for r in body}
    assert by_key[("source", "2024-01-01")][2:] == [
        "STALE",
        "2024-02-01T00:00:07+00:00",
        "CODE_VERSION_CHANGED",
    ]
    assert by_key[("source", DAY)][2:] == ["FRESH", "", ""]
    assert by_key[("digest", "2024-01-31")][2:] == ["MISSING", "", ""]
    # In the service's order (dependency, then partition), the same as one big page.
    whole = staleness(scene.world.ws, StalenessQuery(limit=1000))
    assert [(r[0], r[1]) for r in body] == keys_of(whole)
    # Filters apply to every page.
    code, out = run("staleness", "--csv", "--limit", "2", "--reason", "UPSTREAM_DATA_CHANGED,x")
    assert code == 2 and "unknown reason 'X'" in out
    code, out = run("staleness", "--csv", "--limit", "2", "--status", "STALE", "--root-causes")
    rows = list(csv.reader(io.StringIO(out)))
    assert code == 0 and rows[0][-1] == "root_causes" and len(rows) == 5
    assert {r[4] for r in rows[1:]} == {
        "CODE_VERSION_CHANGED",
        "DEPENDENCY_ADDED",
        "UPSTREAM_DATA_CHANGED",
        "UPSTREAM_MISSING",
    }


def test_summary_per_asset(run: Run, scene: Scene, http: FlaskClient) -> None:
    code, out = run("staleness", "--summary")
    assert code == 0, out
    table = {r[0]: r for r in table_rows(out)}
    assert list(table) == ["reported", "source", "reader", "rolling", "digest", "untracked"]
    since = "2024-02-01 00:00:07"  # the deploy of code version 2 (STALE_SINCE_MS)
    assert when_ms(STALE_SINCE_MS[("source", "2024-01-01")]) == since
    assert table["source"][1:] == [
        str(DAYS),
        "1",
        "1",
        str(DAYS - 2),
        since,
        "CODE_VERSION_CHANGED",
    ]
    assert table["untracked"][1:] == [str(DAYS), "0", "0", str(DAYS), "", ""]
    code, out = run("staleness", "--summary", "--json", "key:source or key:rolling")
    printed = json.loads(out)
    assert code == 0 and [a["asset"] for a in printed["assets"]] == ["source", "rolling"]
    query = StalenessQuery(selection="key:source or key:rolling")
    # The CLI's simulated clock flows: compare everything but the evaluation time.
    direct = staleness_summary(scene.world.ws, query)
    assert printed["assets"] == direct["assets"] and printed["summary"] == direct["summary"]
    assert printed["as_of"]["manifest_id"] == direct["as_of"]["manifest_id"]
    served = body_of(
        http.get(f"{URL}/summary", query_string={"selection": "key:source or key:rolling"})
    )
    assert served["assets"] == printed["assets"]
    rolling = printed["assets"][1]
    assert rolling["STALE"] == 1 and rolling["reasons"] == ["UPSTREAM_DATA_CHANGED"]
    code, out = run("staleness", "--summary", "--csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert code == 0 and rows[0][:5] == ["asset", "partitions", "fresh", "stale", "missing"]
    assert len(rows) == 1 + ASSETS
    assert rows[2] == [
        "source",
        str(DAYS),
        "1",
        "1",
        str(DAYS - 2),
        STALE_SINCE_ISO[("source", "2024-01-01")],
        "CODE_VERSION_CHANGED",
    ]


def test_filters(run: Run, http: FlaskClient) -> None:
    stale = body_of(http.get(f"{URL}?status=STALE"))
    assert set(keys_of(stale)) == {
        k for k, (status, _) in STALE_AND_FRESH.items() if status == "STALE"
    }
    both = body_of(http.get(f"{URL}?status=STALE&status=FRESH"))
    assert set(keys_of(both)) == set(STALE_AND_FRESH)
    assert keys_of(body_of(http.get(f"{URL}?status=STALE,FRESH"))) == keys_of(both)
    by_reason = body_of(http.get(f"{URL}?reason=UPSTREAM_MISSING,DEPENDENCY_ADDED"))
    assert keys_of(by_reason) == [("reader", DAY), ("digest", "2024-01-03")]
    chosen = body_of(http.get(f"{URL}?selection=key:source&status=STALE"))
    assert keys_of(chosen) == [("source", "2024-01-01")]
    window = body_of(http.get(f"{URL}?from=2024-01-02&to=2024-01-03&selection=key:digest"))
    assert keys_of(window) == [("digest", DAY), ("digest", "2024-01-03")]
    assert window["summary"]["partitions"] == 2  # the summary covers the selection and range
    # The same through the CLI.
    code, out = run("staleness", "--json", "--status", "stale", "--reason", "CODE_VERSION_CHANGED")
    assert code == 0 and keys_of(json.loads(out)) == [("source", "2024-01-01")]
    code, out = run("staleness", "key:digest", "--from", "2024-01-02", "--to", "2024-01-03")
    assert code == 0 and "2024-01-03" in out and "2024-01-04" not in out, out


# --- HTTP ----------------------------------------------------------------------------------


def test_pages_over_http_are_stable_and_end_with_a_null_cursor(http: FlaskClient) -> None:
    items, pages = every_page(http, "limit=40")
    assert len(pages) == 5 and [len(p["items"]) for p in pages] == [40, 40, 40, 40, 26]
    assert pages[-1]["next_cursor"] is None and all(p["next_cursor"] for p in pages[:-1])
    whole = body_of(http.get(f"{URL}?limit=1000"))
    assert [(i["asset"], i["partition"]) for i in items] == keys_of(whole)
    assert items == whole["items"]
    assert {p["as_of"]["manifest_id"] for p in pages} == {whole["as_of"]["manifest_id"]}
    # The same cursor gives the same page.
    again = body_of(http.get(f"{URL}?limit=40&cursor={pages[0]['next_cursor']}"))
    assert again == pages[1]
    # Pages of a filtered listing.
    stale, stale_pages = every_page(http, "limit=1&status=STALE")
    assert len(stale_pages) == 4 and [(i["asset"], i["partition"]) for i in stale] == [
        k for k, (status, _) in STALE_AND_FRESH.items() if status == "STALE"
    ]


def test_as_of_an_old_manifest_gives_the_old_answer(scene: Scene, http: FlaskClient) -> None:
    old = scene.early_manifest
    now = body_of(http.get(f"{URL}?status=FRESH,STALE"))
    assert now != scene.early_answer and now["as_of"]["manifest_id"] > old
    again = body_of(http.get(f"{URL}?status=FRESH,STALE&as_of={old}"))
    assert again["items"] == scene.early_answer["items"]
    assert again["summary"] == scene.early_answer["summary"]
    assert again["as_of"]["manifest_id"] == old
    assert all(i["status"] == "FRESH" for i in again["items"]) and len(again["items"]) == 5
    # As of a time: the newest manifest published by then.
    moment = again["as_of"]["time"]
    by_time = body_of(http.get(URL, query_string={"status": "FRESH,STALE", "as_of": moment}))
    assert by_time == again
    summary = body_of(http.get(f"{URL}/summary?as_of={old}"))
    assert summary["as_of"] == again["as_of"] and summary["summary"] == again["summary"]


def test_pages_read_the_state_of_the_first_after_a_later_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(tmp_path / "store")
    world.run("source", "2024-01-01")
    world.run("source")
    http = client_of(world)
    first = body_of(http.get(f"{URL}?selection=key:source&limit=1"))
    assert keys_of(first) == [("source", "2024-01-01")] and first["items"][0]["status"] == "FRESH"
    world.deploy(build(source_code="2"))
    second = body_of(http.get(f"{URL}?selection=key:source&limit=1&cursor={first['next_cursor']}"))
    assert second["as_of"] == first["as_of"]
    assert keys_of(second) == [("source", DAY)] and second["items"][0]["status"] == "FRESH"
    fresh_start = body_of(http.get(f"{URL}?selection=key:source&limit=2"))
    assert [i["status"] for i in fresh_start["items"]] == ["STALE", "STALE"]
    # The CLI's --as-of with the old manifest id gives the old table.
    run = runner_for(world, tmp_path / "store", monkeypatch)
    old = str(first["as_of"]["manifest_id"])
    code, out = run("staleness", "key:source", "--as-of", old, "--status", "STALE,FRESH")
    assert code == 0 and f"as of manifest {old}" in out, out
    assert [r[:3] for r in table_rows(out)] == [
        ["source", "2024-01-01", "FRESH"],
        ["source", DAY, "FRESH"],
    ]


@pytest.mark.parametrize(
    "query, needle",
    [
        ("status=OLD", "unknown status 'OLD'"),
        ("status=STALE,stale", "unknown status 'stale'"),
        ("reason=CODE_CHANGED", "unknown reason 'CODE_CHANGED'"),
        ("limit=0", "query.limit: Input should be greater than or equal to 1"),
        ("limit=x", "query.limit: must be an integer"),
        ("cursor=nonsense", "invalid cursor"),
        ("from=2024-01-01", "give both 'from' and 'to'"),
        ("to=2024-01-01", "give both 'from' and 'to'"),
        ("from=2024-01-05&to=2024-01-01", "reversed range"),
        ("from=x&to=y", "no selected asset has partitions 'x' .. 'y'"),
        ("as_of=yesterday", "as_of 'yesterday' is not an ISO 8601 timestamp"),
        ("as_of=2024-02-01T00:00:00", "needs a UTC offset"),
        ("as_of=9999-12-31T23:59:59Z", "1970 to 2199"),  # never a report over 8,000 years
        ("as_of=2190-01-01T00:00:00Z", "in the future"),
        ("selection=key:nothing", "unknown asset 'nothing'"),
        ("root_causes=yes", "query.root_causes: must be true or false"),
    ],
)
def test_bad_input_is_a_400_naming_it(http: FlaskClient, query: str, needle: str) -> None:
    response = http.get(f"{URL}?{query}")
    refused_status(response)
    assert needle in body_of(response)["error"]["message"]
    if "cursor" not in query and "limit" not in query and "root_causes" not in query:
        summary = http.get(f"{URL}/summary?{query}")
        assert refused_status(summary) == response.status_code
        assert needle in body_of(summary)["error"]["message"]


def test_paging_parameters_do_not_apply_to_the_summary(http: FlaskClient) -> None:
    response = http.get(f"{URL}/summary?limit=5&cursor=x")
    assert response.status_code == 400
    assert (
        "query.limit: unknown field; query.cursor: unknown field"
        in body_of(response)["error"]["message"]
    )


def test_an_unknown_manifest_is_a_404(http: FlaskClient, run: Run) -> None:
    for path in (URL, f"{URL}/summary"):
        response = http.get(f"{path}?as_of=99999")
        assert response.status_code == 404, response.json
        assert "no manifest 99999" in body_of(response)["error"]["message"]
    code, out = run("staleness", "--as-of", "99999")
    assert code == 2 and "no manifest 99999" in out  # the CLI: 2 for every error


@pytest.mark.parametrize(
    "args, needle",
    [
        (("--json", "--csv"), "give only one of --json or --csv"),
        (("--from", "2024-01-01"), "give both --from and --to"),
        (("--to", "2024-01-01"), "give both --from and --to"),
        (("--status", "old"), "unknown status 'OLD'"),
        (("--reason", "CODE"), "unknown reason 'CODE'"),
        (("--as-of", "yesterday"), "not an ISO 8601 timestamp"),
        (("--cursor", "nonsense"), "invalid cursor"),
        (("key:nothing",), "unknown asset 'nothing'"),
        (("--summary", "--limit", "5", "--root-causes"), "drop --limit, --root-causes"),
        (("--limit", "0"), "0 is not in the range"),
    ],
)
def test_bad_input_in_the_cli_exits_2(run: Run, args: tuple[str, ...], needle: str) -> None:
    code, out = run("staleness", *args)
    assert code == 2 and needle in " ".join(out.split()), out
    if "--limit" not in args and "--csv" not in args:
        code, out = run("staleness", "--json", *args)
        assert code == 2 and needle in json.loads(out)["error"]["message"]


def test_arco_sql_reads_the_same_report(run: Run, scene: Scene) -> None:
    """`staleness` and `staleness_causes` as SQL views agree with the report's summary."""
    code, out = run("staleness", "--json", "--limit", "1")
    summary = json.loads(out)["summary"]
    query = "select status, count(*) as n from staleness group by status"
    code, out = run("sql", query, "--json")
    assert code == 0, out
    assert {r["status"]: r["n"] for r in json.loads(out)} == {
        s: summary[s] for s in ("FRESH", "STALE", "MISSING") if summary[s]
    }
    query = (
        "select code, count(distinct (asset, partition)) as n from staleness_causes group by code"
    )
    code, out = run("sql", query, "--json")
    assert {r["code"]: r["n"] for r in json.loads(out)} == summary["by_reason"]
    assert summary["by_reason"]["CODE_VERSION_CHANGED"] >= 1


# --- helpers -------------------------------------------------------------------------------


def table_rows(out: str) -> list[list[str]]:
    """The cells of the table's rows: piped, the CLI writes it tab-separated, a header line
    first (left out here), each value whole."""
    lines = [line.split("\t") for line in out.splitlines() if "\t" in line]
    return lines[1:]


def when_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture(autouse=True)
def _no_leftover_state(scene: Scene) -> Iterator[None]:
    """The module's tests only read the shared scene."""
    before = scene.world.ws.manifest().manifest_id
    yield
    assert scene.world.ws.manifest().manifest_id == before
