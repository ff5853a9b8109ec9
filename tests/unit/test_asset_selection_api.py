"""`AssetSelection`, Dagster's Python selection API, on a small graph. Expected key sets are
Dagster 1.13's (`AssetSelection...resolve()` on the same graph); every selection prints as a
canonical selection string that parses back to an equal selection."""

from __future__ import annotations

from typing import Any

import pytest

from arco.domain.errors import InvalidInput
from arco.sdk import AssetIn, AssetKey, AssetSelection, AssetSpec, Definitions, asset

S = AssetSelection


# a -> b -> c -> f, a -> pre/e -> f
@asset(group_name="ing")
def a() -> None: ...


@asset(group_name="ing", tags={"pii": ""})
def b(a: None) -> None: ...


@asset(group_name="chain", owners=["team:data"], kinds=["dbt"], tags={"tier": "gold"})
def c(b: None) -> None: ...


@asset(key_prefix=["pre"])
def e(a: None) -> None: ...


@asset(ins={"pre_e": AssetIn(key=["pre", "e"])})
def f(c: None, pre_e: None) -> None: ...


ASSETS = [a, b, c, e, f]
DEFS = Definitions(assets=ASSETS)
SNAPSHOT = DEFS.snapshot("selections")


def keys(selection: AssetSelection) -> list[str]:
    return sorted(selection.resolve_keys(SNAPSHOT))


CASES: list[tuple[str, AssetSelection, list[str], str]] = [
    ("all", S.all(), ["a", "b", "c", "f", "pre/e"], "*"),
    ("assets", S.assets(a, "c"), ["a", "c"], "key:a or key:c"),
    ("assets by key", S.assets(AssetKey(["pre", "e"])), ["pre/e"], "key:pre/e"),
    ("keys, a string", S.keys("pre/e"), ["pre/e"], "key:pre/e"),
    ("keys, a list", S.keys(["pre", "e"]), ["pre/e"], "key:pre/e"),
    ("key prefixes", S.key_prefixes("pre"), ["pre/e"], "key:pre/*"),
    ("key prefixes, a list", S.key_prefixes(["pre"], "zzz"), ["pre/e"], "key:pre/* or key:zzz/*"),
    ("key substring", S.key_substring("re/"), ["pre/e"], "key:*re/*"),
    ("groups", S.groups("ing"), ["a", "b"], "group:ing"),
    ("groups, several", S.groups("ing", "chain"), ["a", "b", "c"], "group:ing or group:chain"),
    ("tag, empty value", S.tag("pii", ""), ["b"], "tag:pii"),
    ("tag", S.tag("tier", "gold"), ["c"], "tag:tier=gold"),
    ("tag, other value", S.tag("tier", "silver"), [], "tag:tier=silver"),
    ("tag_string", S.tag_string("pii"), ["b"], "tag:pii"),
    ("tag_string k=v", S.tag_string("tier=gold"), ["c"], "tag:tier=gold"),
    ("owner", S.owner("team:data"), ["c"], "owner:team:data"),
    ("kind", S.kind("dbt"), ["c"], "kind:dbt"),
    ("upstream", S.assets("c").upstream(), ["a", "b", "c"], "+key:c"),
    ("upstream 1", S.assets("c").upstream(1), ["b", "c"], "1+key:c"),
    (
        "upstream 1, without self",
        S.assets("c").upstream(1, include_self=False),
        ["b"],
        "1+key:c and not key:c",
    ),
    ("upstream 0", S.assets("c").upstream(depth=0), ["c"], "key:c"),
    ("downstream", S.assets("b").downstream(), ["b", "c", "f"], "key:b+"),
    ("downstream 1", S.assets("a").downstream(1), ["a", "b", "pre/e"], "key:a+1"),
    (
        "downstream, without self",
        S.assets("a").downstream(include_self=False),
        ["b", "c", "f", "pre/e"],
        "key:a+ and not key:a",
    ),
    ("roots", S.groups("ing").roots(), ["a"], "roots(group:ing)"),
    ("roots of all", S.all().roots(), ["a"], "roots(*)"),
    ("roots skip an ancestor outside", S.assets("b", "f").roots(), ["b"], "roots(key:b or key:f)"),
    ("sinks", S.all().sinks(), ["f"], "sinks(*)"),
    (
        "sinks of a part",
        (S.groups("ing") | S.assets("pre/e")).sinks(),
        ["b", "pre/e"],
        "sinks(group:ing or key:pre/e)",
    ),
    ("or", S.groups("ing") | S.assets("f"), ["a", "b", "f"], "group:ing or key:f"),
    ("and", S.assets("a").downstream() & S.groups("chain"), ["c"], "key:a+ and group:chain"),
    ("all minus", S.all() - S.groups("ing"), ["c", "f", "pre/e"], "not group:ing"),
    (
        "minus",
        S.assets("a").downstream() - S.groups("ing"),
        ["c", "f", "pre/e"],
        "key:a+ and not group:ing",
    ),
    ("nothing", S.assets(), [], "not *"),
    (
        "nested traversal",
        (S.assets("b") | S.assets("pre/e")).downstream(1),
        ["b", "c", "f", "pre/e"],
        "(key:b or key:pre/e)+1",
    ),
]


@pytest.mark.parametrize(
    ("selection", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_constructor_and_operator_selects_what_dagster_selects(
    selection: AssetSelection, expected: list[str]
) -> None:
    assert keys(selection) == expected


@pytest.mark.parametrize(
    ("selection", "text"), [(c[1], c[3]) for c in CASES], ids=[c[0] for c in CASES]
)
def test_str_is_the_canonical_string_and_parses_back_to_an_equal_selection(
    selection: AssetSelection, text: str
) -> None:
    assert str(selection) == text
    again = S.from_string(text)
    assert again == selection
    assert hash(again) == hash(selection)
    assert keys(again) == keys(selection)


def test_python_and_string_selections_are_one_form() -> None:
    assert S.groups("ing") | S.assets("f") == S.from_string("group:ing or key:f")
    assert S.assets("c").upstream() == S.from_string("+key:c")
    assert S.all() - S.tag("pii", "") == S.from_string("not tag:pii")
    assert S.groups("ing") != S.groups("chain")
    assert repr(S.groups("ing")) == "AssetSelection.from_string('group:ing')"


def test_from_coercible_reads_what_dagster_accepts_as_a_selection() -> None:
    assert S.from_coercible("group:ing") == S.groups("ing")
    assert S.from_coercible(["key:a", "key:c"]) == S.assets("a", "c")
    assert S.from_coercible([a, AssetKey("c")]) == S.assets("a", "c")
    assert keys(S.from_coercible(["b*"])) == ["b", "c", "f"]  # Dagster's clause: b and below
    selection = S.groups("ing")
    assert S.from_coercible(selection) is selection


@pytest.mark.parametrize(
    "source", [SNAPSHOT, DEFS, ASSETS], ids=["snapshot", "definitions", "assets"]
)
def test_resolve_gives_asset_keys_from_a_snapshot_definitions_or_assets(source: Any) -> None:
    assert S.groups("ing").resolve(source) == {AssetKey("a"), AssetKey("b")}
    assert S.all().resolve_keys(source) == ("a", "b", "c", "pre/e", "f")  # topological


def test_an_unknown_key_is_an_error_when_resolved_as_in_dagster() -> None:
    selection = S.assets("zzz")
    assert str(selection) == "key:zzz"
    with pytest.raises(InvalidInput, match="unknown asset 'zzz'"):
        selection.resolve(SNAPSHOT)


def test_a_key_prefix_selects_the_keys_under_it_not_the_asset_named_like_it() -> None:
    # A deliberate difference: Dagster's key_prefixes("pre/e") also selects pre/e itself.
    assert keys(S.key_prefixes(["pre", "e"])) == []
    spec = AssetSpec(["pre", "e", "x"])
    snapshot = Definitions(assets=[*ASSETS, spec]).snapshot("selections")
    assert S.key_prefixes(["pre", "e"]).resolve_keys(snapshot) == ("pre/e/x",)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: S.groups("ing*"), "matches exactly"),
        (lambda: S.tag("tier", "g*"), "matches exactly"),
        (lambda: S.owner("team:*"), "matches exactly"),
        (lambda: S.kind(""), "non-empty string"),
        (lambda: S.tag_string("a=b=c"), "bad tag selection"),
        (lambda: S.key_prefixes("a b"), "invalid asset key"),
        (lambda: S.assets(3), "expected an asset key"),
        (lambda: S.assets("a").upstream(depth=-1), "depth"),
        (lambda: S.assets("a").downstream(depth=True), "depth"),
        (lambda: S.assets("a").downstream(include_self="no"), "include_self"),
        (lambda: S.assets("a") | "key:b", "another AssetSelection"),
        (lambda: S.from_string("key:a and"), "bad selection"),
        (lambda: S.from_coercible(3), "a selection is"),
        (lambda: S("group:ing"), "AssetSelection wraps a selection"),
    ],
)
def test_mistakes_are_refused_with_the_reason(make: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        make()
