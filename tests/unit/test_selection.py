"""Asset selection strings: Dagster's syntax, parsed to an AST and evaluated on a snapshot."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.errors import InvalidInput
from arco.domain.selection import (
    AllAssets,
    And,
    CodeLocationMatch,
    GroupMatch,
    KeyMatch,
    KindMatch,
    Not,
    Or,
    OwnerMatch,
    Roots,
    Selection,
    Sinks,
    TagMatch,
    Traversal,
    parse_selection,
    select_assets,
)
from arco.sdk import AssetSpec, Definitions, asset


@asset
def lonely() -> None:
    """An asset with code, no dependencies, in the default group."""


def _build() -> DefinitionsSnapshot:
    """A diamond (src/events -> events_raw, events_clean -> report), a chain, and `lonely`."""
    events = AssetSpec(
        "src/events",
        group_name="events",
        tags={"tier": "gold", "pii": ""},
        owners=["team:data"],
        kinds=["python"],
    )
    raw = AssetSpec(
        "events_raw",
        deps=[events],
        group_name="events",
        tags={"tier": "silver"},
        kinds=["python", "snowflake"],
    )
    clean = AssetSpec(
        "events_clean",
        deps=[events],
        group_name="events",
        owners=["user@x.com"],
        kinds=["python"],
    )
    report = AssetSpec(
        "report",
        deps=[raw, clean],
        group_name="events",
        tags={"tier": "gold"},
        owners=["user@x.com", "team:bi"],
        kinds=["snowflake"],
    )
    one = AssetSpec(
        "chain/one", group_name="chain", tags={"pii": ""}, owners=["team:data"], kinds=["dbt"]
    )
    two = AssetSpec("chain/two", deps=[one], group_name="chain", kinds=["dbt"])
    three = AssetSpec(
        "chain/three", deps=[two], group_name="chain", tags={"pii": "yes"}, kinds=["dbt"]
    )
    four = AssetSpec("chain/four", deps=[three], group_name="chain", kinds=["dbt"])
    return Definitions(assets=[events, raw, clean, report, one, two, three, four, lonely]).snapshot(
        "tests:defs"
    )


DEFS = _build()
ALL = frozenset(DEFS.assets)
DIAMOND = {"src/events", "events_raw", "events_clean", "report"}
CHAIN = {"chain/one", "chain/two", "chain/three", "chain/four"}


def in_order(keys: set[str] | frozenset[str]) -> tuple[str, ...]:
    return tuple(key for key in DEFS.topological_order() if key in keys)


CASES: list[tuple[str, set[str]]] = [
    # keys: exact, bare, quoted, wildcards
    ("key:report", {"report"}),
    ("report", {"report"}),
    ('"report"', {"report"}),
    ("key:src/events", {"src/events"}),
    ('key:"src/events"', {"src/events"}),
    ("src/events", {"src/events"}),
    ("key:chain/*", CHAIN),
    ("key:*_raw", {"events_raw"}),
    ("key:events_*", {"events_raw", "events_clean"}),
    ('key:"events_*"', {"events_raw", "events_clean"}),
    # a whole selection of one bare name with +/*: Dagster's old clause, one level per `+`
    ("+report", {"report", "events_raw", "events_clean"}),
    ("++report", DIAMOND),
    ("*report", DIAMOND),
    ("chain/two+", {"chain/two", "chain/three"}),
    ("chain/two++", {"chain/two", "chain/three", "chain/four"}),
    ("chain/two*", {"chain/two", "chain/three", "chain/four"}),
    ("+chain/three+", {"chain/two", "chain/three", "chain/four"}),
    ("*chain/three", {"chain/one", "chain/two", "chain/three"}),
    ("*+chain/three", {"chain/one", "chain/two", "chain/three"}),
    (" chain/two+ ", {"chain/two", "chain/three"}),
    ("key:*/*", CHAIN | {"src/events"}),
    ("key:nothing_*", set()),
    ("key:*", set(ALL)),
    ("*", set(ALL)),
    # tags: `tag:k` is the tag with an empty value (Dagster)
    ("tag:tier=gold", {"src/events", "report"}),
    ('tag:"tier"="silver"', {"events_raw"}),
    ("tag:tier", set()),
    ("tag:pii", {"src/events", "chain/one"}),
    ('tag:pii=""', {"src/events", "chain/one"}),
    ("tag:pii=yes", {"chain/three"}),
    ("tag:pii=*", {"src/events", "chain/one", "chain/three"}),
    ("tag:t*=*", {"src/events", "events_raw", "report"}),
    ("tag:nope", set()),
    # groups, owners, kinds, code location
    ("group:chain", CHAIN),
    ("group:default", {"lonely"}),
    ("group:ev*", DIAMOND),
    ("group:nope", set()),
    ("owner:team:data", {"src/events", "chain/one"}),
    ('owner:"team:data"', {"src/events", "chain/one"}),
    ('owner:"user@x.com"', {"events_clean", "report"}),
    ("owner:user@x.com", {"events_clean", "report"}),
    ("owner:team:*", {"src/events", "chain/one", "report"}),
    ("kind:python", {"src/events", "events_raw", "events_clean"}),
    ("kind:snowflake", {"events_raw", "report"}),
    ("kind:dbt", CHAIN),
    ("code_location:tests:defs", set(ALL)),
    ("code_location:elsewhere", set()),
    # upstream: `+` is unbounded, `N+` is N levels
    ("+key:report", DIAMOND),
    ("+ key:report", DIAMOND),
    ("1+key:report", {"report", "events_raw", "events_clean"}),
    ("2+key:report", DIAMOND),
    ("0+key:report", {"report"}),
    ("+key:chain/four", CHAIN),
    ("2+key:chain/four", {"chain/two", "chain/three", "chain/four"}),
    ("+key:src/events", {"src/events"}),
    (
        "+(key:chain/two or key:events_clean)",
        {"chain/one", "chain/two"} | {"src/events"} | {"events_clean"},
    ),
    # downstream: `+` is unbounded, `+N` is N levels; nothing downstream unless asked
    ("key:events_raw", {"events_raw"}),
    ("key:chain/one+", CHAIN),
    ("key:chain/one +", CHAIN),
    ("key:chain/one+1", {"chain/one", "chain/two"}),
    ("key:chain/one+2", {"chain/one", "chain/two", "chain/three"}),
    ("key:src/events+1", {"src/events", "events_raw", "events_clean"}),
    ("key:src/events+", DIAMOND),
    ("group:chain+", CHAIN),
    # both ways
    ("+key:events_raw+", {"src/events", "events_raw", "report"}),
    ("1+key:chain/three+1", {"chain/two", "chain/three", "chain/four"}),
    ("1+key:chain/three", {"chain/two", "chain/three"}),
    ("+(+key:chain/two)", {"chain/one", "chain/two"}),
    # roots and sinks
    ("roots()", {"chain/one", "lonely", "src/events"}),
    ("sinks()", {"chain/four", "lonely", "report"}),
    ("roots(*)", {"chain/one", "lonely", "src/events"}),
    ("sinks( * )", {"chain/four", "lonely", "report"}),
    ("roots(group:events)", {"src/events"}),
    ("sinks(group:events)", {"report"}),
    ("roots(key:chain/two or key:chain/three)", {"chain/two"}),
    ("sinks(kind:python)", {"events_raw", "events_clean"}),
    ("roots(not key:src/events)", {"chain/one", "lonely", "events_raw", "events_clean"}),
    ("roots(key:chain/*)+1", {"chain/one", "chain/two"}),
    ("roots (group:chain)", {"chain/one"}),
    # boolean algebra, precedence not > and > or, parentheses
    ("group:events and kind:python", {"src/events", "events_raw", "events_clean"}),
    ("group:chain or key:lonely", CHAIN | {"lonely"}),
    ("not group:events", CHAIN | {"lonely"}),
    ("not not group:default", {"lonely"}),
    ("not(group:events)", CHAIN | {"lonely"}),
    ("key:lonely or group:events and kind:snowflake", {"lonely", "events_raw", "report"}),
    ("(key:lonely or group:events) and kind:snowflake", {"events_raw", "report"}),
    ("not group:events and tag:pii", {"chain/one"}),
    ("not (group:events and tag:pii)", set(ALL) - {"src/events"}),
    ("not key:report or key:report", set(ALL)),
    ("kind:dbt and not tag:pii=* and not key:chain/two", {"chain/four"}),
    ("not +key:report", CHAIN | {"lonely"}),
    ("\n key:lonely\tor\nkey:report ", {"lonely", "report"}),
    ("((key:lonely))", {"lonely"}),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_selects(text: str, expected: set[str]) -> None:
    assert select_assets(text, DEFS) == in_order(expected)


@pytest.mark.parametrize("text", [c[0] for c in CASES])
def test_canonical_form_round_trips(text: str) -> None:
    parsed = parse_selection(text)
    canonical = str(parsed)
    assert parse_selection(canonical) == parsed
    assert str(parse_selection(canonical)) == canonical
    assert select_assets(parsed, DEFS) == select_assets(canonical, DEFS)


def test_results_come_in_topological_order() -> None:
    assert select_assets("*", DEFS) == (
        "chain/one",
        "chain/two",
        "chain/three",
        "chain/four",
        "lonely",
        "src/events",
        "events_clean",
        "events_raw",
        "report",
    )
    assert select_assets("key:report or key:src/events", DEFS) == ("src/events", "report")


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("a or b and c", "key:a or key:b and key:c"),
        ("(a or b) and c", "(key:a or key:b) and key:c"),
        ("a and (b and c)", "key:a and (key:b and key:c)"),
        ("(a and b) and c", "key:a and key:b and key:c"),
        ("a or (b or c)", "key:a or (key:b or key:c)"),
        ("not (a or b)", "not (key:a or key:b)"),
        ("not not a", "not not key:a"),
        ("(not a) and b", "not key:a and key:b"),
        ('2+key:"a b"+', '2+key:"a b"+'),
        ("007+key:a", "7+key:a"),
        ("0+a+0", "key:a"),
        ("0+key:a+", "key:a+"),
        ("+(+key:a)", "+(+key:a)"),
        ("+a", "1+key:a"),
        ("a++", "key:a+2"),
        ("*a", "+key:a"),
        ("*a*", "+key:a+"),
        ("+(a or b)+3", "+(key:a or key:b)+3"),
        ("roots( )", "roots()"),
        ("sinks(a or b)+", "sinks(key:a or key:b)+"),
        ('owner:"team:data"', "owner:team:data"),
        ('owner:"user@x.com"', "owner:user@x.com"),
        ('tag:k=""', "tag:k"),
        ('tag:"a b"=" "', 'tag:"a b"=" "'),
        ('"x\\"y\\\\z"', 'key:"x\\"y\\\\z"'),
        ('"and"', "key:and"),
        ("android or notable", "key:android or key:notable"),
        ("roots", "key:roots"),
        ("*", "*"),
        ("key:*", "key:*"),
        ("code_location:a:b", "code_location:a:b"),
    ],
)
def test_canonical_form(text: str, canonical: str) -> None:
    assert str(parse_selection(text)) == canonical
    assert parse_selection(canonical) == parse_selection(text)


def test_parsed_ast() -> None:
    assert parse_selection("a or b and not c") == Or(
        KeyMatch("a"), And(KeyMatch("b"), Not(KeyMatch("c")))
    )
    assert parse_selection("2+group:g+") == Traversal(GroupMatch("g"), up=2, down=None)
    assert parse_selection("tag:k") == TagMatch("k", "") == TagMatch("k")  # value "" by default
    # A bare value runs to a space, a parenthesis, a quote, '+' or '=': any letter belongs to it.
    assert parse_selection("tag:team=DataXY") == TagMatch("team", "DataXY")
    assert parse_selection("group:XL_models") == GroupMatch("XL_models")
    assert parse_selection("roots()") == Roots()
    assert parse_selection("sinks(*)") == Sinks(AllAssets())
    assert hash(parse_selection("a and b")) == hash(And(KeyMatch("a"), KeyMatch("b")))


def test_selections_built_directly() -> None:
    chosen = Or(Traversal(KeyMatch("report"), up=1), Sinks(GroupMatch("chain")))
    assert str(chosen) == "1+key:report or sinks(group:chain)"
    assert select_assets(chosen, DEFS) == in_order(
        {"events_raw", "events_clean", "report", "chain/four"}
    )
    nested = And(Or(KeyMatch("a"), KeyMatch("b")), Or(KeyMatch("c"), KeyMatch("d")))
    assert str(nested) == "(key:a or key:b) and (key:c or key:d)"
    assert parse_selection(str(nested)) == nested


@pytest.mark.parametrize(
    "build",
    [
        lambda: Traversal(KeyMatch("a")),
        lambda: Traversal(KeyMatch("a"), up=-1),
        lambda: Traversal(KeyMatch("a"), down=True),
        lambda: KeyMatch("a\nb"),
        lambda: TagMatch(""),
    ],
)
def test_invalid_asts_are_rejected(build: object) -> None:
    with pytest.raises(InvalidInput):
        build()  # type: ignore[operator]


ERRORS = [
    ("", "bad selection '': the selection is empty"),
    ("  \n", "bad selection '  \\n': the selection is empty"),
    ("key:a and", "bad selection 'key:a and': expected an expression at position 9"),
    ("report and or lonely", "expected an expression at position 11"),
    ("not", "bad selection 'not': expected an expression at position 3"),
    ("+", "expected an expression at position 1"),
    ("2+", "unknown asset '2'"),  # Dagster's old clause: asset `2` and one level down
    ("()", "expected an expression at position 1"),
    ("roots(", "expected an expression at position 6"),
    ("(report", "bad selection '(report': expected 'and', 'or' or ')' at position 7"),
    ("roots(report", "expected 'and', 'or' or ')' at position 12"),
    ("report)", "expected 'and', 'or' or the end of the selection at position 6"),
    ("report lonely", "expected 'and', 'or' or the end of the selection at position 7"),
    ("report OR lonely", "expected 'and', 'or' or the end of the selection at position 7"),
    ("key:report++", "expected 'and', 'or' or the end of the selection at position 11"),
    ("key:report+1x", "expected 'and', 'or' or the end of the selection at position 12"),
    (
        "color:red",
        "bad selection 'color:red': unknown attribute 'color' at position 0 "
        "(use key, tag, group, owner, kind or code_location)",
    ),
    ("report or status:ok", "unsupported attribute 'status' at position 10"),
    ("*key:report", "unexpected '*' at position 0 ('*' for upstream assets is the old syntax"),
    ("key:", "bad selection 'key:': expected a value after 'key:' at position 4"),
    ("key: report", "expected a value after 'key:' at position 4"),
    ("tag:tier=", "expected a value after '=' at position 9"),
    ('tag:""=x', "a tag key must not be empty at position 0"),
    ('key:"report', "unterminated string starting at position 4"),
    ('"a\nb"', "unterminated string starting at position 0"),
    ("(" * 101 + "report" + ")" * 101, "nested more than 100 levels deep at position 100"),
    # evaluation: an exact key must name an asset; a wildcard may match nothing
    ("key:nope", "bad selection 'key:nope': unknown asset 'nope'"),
    ("not (lonely or chain/fiv)", "bad selection 'not (lonely or chain/fiv)': unknown asset"),
    ('"src/events "', "unknown asset 'src/events '"),
    # a bare `+a` means one thing: the old clause alone, refused inside an expression
    ("+report or lonely", "old clause syntax, read only as the whole selection at position 1"),
    ("2+report", "(write key:report with the traversal)"),
    ("chain/t*", "unknown asset 'chain/t' ('*' around a bare name means every level"),
    ("+chain/t*", "old clause syntax; for a key pattern write key:chain/t*)"),
    ("*chain/t+", "old clause syntax; for a key pattern write key:*chain/t)"),
]


@pytest.mark.parametrize(("text", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        select_assets(text, DEFS)


@pytest.mark.parametrize(
    ("build", "what"),
    [
        (lambda: KeyMatch("a\x01"), "key"),
        (lambda: TagMatch("k\x01"), "tag key"),
        (lambda: TagMatch("k", "v\x01"), "tag value"),
        (lambda: GroupMatch("g\x01"), "group"),
        (lambda: OwnerMatch("o\x01"), "owner"),
        (lambda: KindMatch("k\x01"), "kind"),
        (lambda: CodeLocationMatch("c\x01"), "code location"),
    ],
)
def test_a_control_character_names_the_value_it_is_in(build: Any, what: str) -> None:
    with pytest.raises(InvalidInput, match=f"^selection {what} '.*' contains a control character$"):
        build()


def test_whole_parse_errors_carry_a_hint_only_when_there_is_one() -> None:
    for text, message in [
        ("key:a and", "bad selection 'key:a and': expected an expression at position 9"),
        ("(report", "bad selection '(report': expected 'and', 'or' or ')' at position 7"),
        ("nope:x", "bad selection 'nope:x': unknown attribute 'nope' at position 0 "
         "(use key, tag, group, owner, kind or code_location)"),
        ("*nope:x", "bad selection '*nope:x': unknown attribute '*nope' at position 0 "
         "(use key, tag, group, owner, kind or code_location)"),
        # A bare value stops at a control character, which nothing else reads.
        ("key:a\x01b", "bad selection 'key:a\\x01b': expected 'and', 'or' or the end of the "
         "selection at position 5"),
    ]:  # fmt: skip
        with pytest.raises(InvalidInput) as info:
            parse_selection(text)
        assert str(info.value) == message


def test_the_whole_message_of_a_plain_unknown_asset() -> None:
    with pytest.raises(InvalidInput) as info:
        select_assets("key:nope", DEFS)
    assert str(info.value) == "bad selection 'key:nope': unknown asset 'nope'"


def test_other_dagster_attributes_are_named_as_unsupported() -> None:
    for attribute in ("key_substring", "status", "column", "table_name", "column_tag"):
        with pytest.raises(InvalidInput, match=f"unsupported attribute '{attribute}'"):
            parse_selection(f"{attribute}:x")


def test_nesting_counts_depth_not_groups() -> None:
    """101 groups side by side are 1 level deep; 101 inside each other are too deep."""
    side_by_side = " or ".join(["(report)"] * 101)
    assert select_assets(side_by_side, DEFS) == select_assets("report", DEFS)
    with pytest.raises(InvalidInput, match="nested more than 100 levels"):
        parse_selection("(" * 101 + "report" + ")" * 101)


def test_unknown_key_in_a_selection_object_is_reported_in_canonical_form() -> None:
    with pytest.raises(InvalidInput, match=re.escape("bad selection 'key:a or *': unknown")):
        select_assets(Or(KeyMatch("a"), AllAssets()), DEFS)


def test_non_strings_and_huge_inputs_are_rejected() -> None:
    with pytest.raises(InvalidInput, match="must be a string"):
        parse_selection(3)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="must be a string or a Selection"):
        select_assets(None, DEFS)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="longer than 10000 characters"):
        parse_selection("report or " * 2000 + "report")
    # The limit is 10,000 characters: exactly that many parse, one more does not.
    at_limit = "report" + " " * (10_000 - len("report"))
    assert parse_selection(at_limit) == parse_selection("report")
    with pytest.raises(InvalidInput, match="longer than 10000 characters"):
        parse_selection(at_limit + " ")


# --- properties --------------------------------------------------------------------------------

KEYS = sorted(ALL)
PATTERNS = [*KEYS, "chain/*", "*_raw", "events_*", "*", "nothing*", "*o*", "*/*"]


def leaf_set(pattern: str) -> frozenset[str]:
    return frozenset(key for key in ALL if fnmatchcase(key, pattern))


def _leaf(pattern: str) -> tuple[str, frozenset[str]]:
    text = f"key:{pattern}" if pattern != "*" else "*"
    return text, leaf_set(pattern)


def _combine(
    children: st.SearchStrategy[tuple[str, frozenset[str]]],
) -> st.SearchStrategy[tuple[str, frozenset[str]]]:
    space = st.sampled_from([" ", "  ", "\n", " \t "])
    nots = st.builds(lambda c, s: (f"not{s}({c[0]})", ALL - c[1]), children, space)
    ands = st.builds(
        lambda a, b, s: (f"({a[0]}){s}and{s}({b[0]})", a[1] & b[1]), children, children, space
    )
    ors = st.builds(
        lambda a, b, s: (f"({a[0]}){s}or{s}({b[0]})", a[1] | b[1]), children, children, space
    )
    return nots | ands | ors


TREES = st.recursive(st.sampled_from(PATTERNS).map(_leaf), _combine, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(TREES)
def test_boolean_algebra_matches_python_sets(tree: tuple[str, frozenset[str]]) -> None:
    text, expected = tree
    assert select_assets(text, DEFS) == in_order(expected)
    canonical = str(parse_selection(text))
    assert parse_selection(canonical) == parse_selection(text)
    assert select_assets(canonical, DEFS) == in_order(expected)


TERMS = st.tuples(st.integers(min_value=0, max_value=2), st.sampled_from(PATTERNS))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(TERMS, min_size=1, max_size=8).flatmap(
        lambda terms: st.tuples(
            st.just(terms),
            st.lists(
                st.sampled_from(["and", "or"]), min_size=len(terms) - 1, max_size=len(terms) - 1
            ),
        )
    )
)
def test_unparenthesized_precedence_is_not_and_or(
    expression: tuple[list[tuple[int, str]], list[str]],
) -> None:
    """`not` > `and` > `or`, as in Python: evaluate or-groups of and-ed (negated) terms."""
    terms, operators = expression

    def term(negations: int, pattern: str) -> frozenset[str]:
        chosen = leaf_set(pattern)
        return ALL - chosen if negations % 2 else chosen

    words = [" ".join(["not"] * terms[0][0] + [_leaf(terms[0][1])[0]])]
    groups: list[frozenset[str]] = [term(*terms[0])]
    for operator, (negations, pattern) in zip(operators, terms[1:], strict=True):
        words += [operator, " ".join(["not"] * negations + [_leaf(pattern)[0]])]
        if operator == "and":
            groups[-1] &= term(negations, pattern)
        else:
            groups.append(term(negations, pattern))
    expected = frozenset().union(*groups)
    text = " ".join(words)
    assert select_assets(text, DEFS) == in_order(expected)
    assert parse_selection(str(parse_selection(text))) == parse_selection(text)


def test_selection_is_the_base_of_every_node() -> None:
    for text, _ in CASES:
        assert isinstance(parse_selection(text), Selection)


def test_names_starting_with_any_letter_parse_inside_expressions() -> None:
    """No letter is whitespace, a quote, a parenthesis or a separator."""
    assert parse_selection("XL or report") == Or(KeyMatch("XL"), KeyMatch("report"))
    assert parse_selection("report\tor\nXL") == Or(KeyMatch("report"), KeyMatch("XL"))
    assert parse_selection("tag:X=Y and XL") == And(TagMatch("X", "Y"), KeyMatch("XL"))


def test_quoted_values_take_escaped_quotes_and_backslashes() -> None:
    assert parse_selection('key:"a\\"b" or x') == Or(KeyMatch('a"b'), KeyMatch("x"))
    assert parse_selection('key:"a\\\\b" or x') == Or(KeyMatch("a\\b"), KeyMatch("x"))
    assert parse_selection('key:"a\\b" or x') == Or(KeyMatch("a\\b"), KeyMatch("x"))  # kept
    assert parse_selection('key:"a\\Xb" or x') == Or(KeyMatch("a\\Xb"), KeyMatch("x"))
    with pytest.raises(InvalidInput, match="unterminated string starting at position 4"):
        parse_selection('key:"ab\\"')  # the last quote is escaped: the string never ends
    with pytest.raises(InvalidInput, match="unterminated string starting at position 4"):
        parse_selection('key:"ab\\')  # a backslash last


def test_keywords_and_functions_alone_and_as_names() -> None:
    with pytest.raises(
        InvalidInput, match=r"^bad selection 'and': expected an expression at position 0$"
    ):
        parse_selection("and")
    assert parse_selection("roots or x") == Or(KeyMatch("roots"), KeyMatch("x"))  # not called
    with pytest.raises(InvalidInput, match="unsupported attribute 'changed_in_branch'"):
        parse_selection("changed_in_branch:x")


def test_depth_is_counted_again_after_a_closed_group() -> None:
    deep = "(" * 101 + "report" + ")" * 101
    with pytest.raises(InvalidInput, match="nested more than 100 levels deep"):
        parse_selection("((report)) or " + deep)


def test_traversals_of_quoted_and_grouped_names_are_not_the_old_clause() -> None:
    expected = parse_selection("+key:report or lonely")
    assert parse_selection('+"report" or lonely') == expected
    assert parse_selection("+(report) or lonely") == expected


def test_a_keyword_or_starred_name_before_a_colon_is_an_unknown_attribute() -> None:
    for text, name in [("and:x", "and"), ("*Xkey:x", "*Xkey")]:
        with pytest.raises(
            InvalidInput, match=re.escape(f"unknown attribute '{name}' at position 0")
        ):
            parse_selection(text)
