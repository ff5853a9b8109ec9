"""Asset selection strings, in Dagster's (1.10+) selection syntax.

```python
selection = parse_selection('+key:report or (group:chain and not tag:pii)')
select_assets(selection, defs)   # matching keys, in topological order
```

The grammar (keywords are lower case; `not` binds tighter than `and`, `and` than `or`):

    expr      := or
    or        := and ("or" and)*
    and       := unary ("and" unary)*
    unary     := "not" unary | traversed
    traversed := [DIGITS? "+"] atom ["+" DIGITS?]
    atom      := "(" expr ")" | ("roots" | "sinks") "(" [expr] ")" | "*"
               | ATTRIBUTE ":" value | value            (a bare value means key:value)
    ATTRIBUTE := key | tag | group | owner | kind | code_location
    value     := "quoted string" | run of characters up to whitespace, ( ) " + =

- `key:a/b` names one asset; `*` in any value matches any run of characters (`/` included):
  `key:a/*`, `key:*_raw`, `group:ing*`. Quote values with other characters: `key:"a b"`,
  `owner:"user@x.com"` (`owner:team:data` works unquoted). Inside quotes `\\"` and `\\\\`
  escape a quote and a backslash.
- `tag:k=v` matches tag `k` with value `v`; `tag:k` matches tag `k` with the *empty* value
  (Dagster's rule: a bare `tag:k` is `tag:k=""`); `tag:k=*` matches any value.
- `+X` is X and all its ancestors, `N+X` X and its ancestors up to N levels; `X+` / `X+N` the
  same downstream; `+X+` both. A selection never pulls in downstream assets unless asked.
- `roots(X)` / `sinks(X)`: the assets of X with no parent / child inside X; `roots()` and
  `sinks()` work over all assets. `*` alone selects every asset.
- `not X` is every asset outside X.

A selection that is one bare name with `+` or `*` around it and nothing else (`a+`, `++a`,
`*a`, `+a+`, `a*`) is Dagster's old op-selection clause, read as Dagster reads it: each `+` is
one level, `*` every level (`+a` is `1+key:a`, `a*` is `key:a+`). Inside a larger expression
such a traversal is refused (write `key:a+`), so a bare `+a` never means two things.

Deliberate differences from Dagster: a bare value inside an expression means `key:`; unquoted
values may contain `/`, `:`, `@`, `.`, `-` (Dagster wants quotes); an exact `key:x` naming no
asset is an error (Dagster selects nothing); `key_substring:`, `status:`, `column:`,
`table_name:`, `column_tag:` and `changed_in_branch:` are not supported.

`Selection` values are immutable ASTs; `str(selection)` is a canonical form that parses back
to an equal selection.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar, NoReturn

from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.errors import InvalidInput

__all__ = [
    "ATTRIBUTES",
    "AllAssets",
    "And",
    "CodeLocationMatch",
    "GroupMatch",
    "KeyMatch",
    "KindMatch",
    "Not",
    "Or",
    "OwnerMatch",
    "Roots",
    "Selection",
    "Sinks",
    "TagMatch",
    "Traversal",
    "parse_selection",
    "select_assets",
]

ATTRIBUTES = ("key", "tag", "group", "owner", "kind", "code_location")
# Dagster attributes Arco does not support (named as such in the error).
_UNSUPPORTED_ATTRIBUTES = frozenset(
    {"key_substring", "status", "column", "table_name", "column_tag", "changed_in_branch"}
)
_KEYWORDS = frozenset({"and", "or", "not"})
_FUNCTIONS = frozenset({"roots", "sinks"})
_MAX_LENGTH = 10_000
_MAX_NESTING = 100

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_WORD = re.compile(r"[A-Za-z0-9_/*]+")  # a bare value, an attribute or function name, a keyword
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_/*:")
_UP = re.compile(r"([0-9]*)\+")
_DIGITS = re.compile(r"[0-9]*")
_VALUE_STOP = frozenset(' \t\r\n()"+=')
# Dagster's old op-selection clause (`parse_clause`): `*`/`+`s, a bare name, `+`s/`*`.
_CLAUSE = re.compile(r"(\*?\+*)([./\w\[\]?-]+)(\+*\*?)")
# Values made only of these print unquoted (a subset of what the parser reads unquoted).
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_/*.@:-")

# Precedence, for printing with as few parentheses as possible.
_OR, _AND, _NOT, _ATOM = 1, 2, 3, 4


# --- the AST -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    defs: DefinitionsSnapshot
    everything: frozenset[str]
    text: str

    def fail(self, message: str) -> NoReturn:
        raise InvalidInput(f"bad selection {self.text!r}: {message}")


@dataclass(frozen=True)
class Selection:
    """A parsed selection. `str()` gives the canonical form; `select_assets` evaluates it."""

    precedence: ClassVar[int] = _ATOM

    def _select(self, ctx: _Context) -> frozenset[str]:
        raise NotImplementedError

    def _render(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self._render()

    def _operand(self, child: Selection, minimum: int) -> str:
        text = child._render()
        return text if child.precedence >= minimum else f"({text})"


def _check_value(value: object, what: str) -> None:
    if not isinstance(value, str):
        raise InvalidInput(f"selection {what} must be a string, not {type(value).__name__}")
    if _CONTROL.search(value):
        raise InvalidInput(f"selection {what} {value!r} contains a control character")


def _quote(value: str) -> str:
    if value and all(char in _SAFE for char in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _matcher(pattern: str) -> Callable[[str], bool]:
    """Exact match, or `*` matching any run of characters (including `/`)."""
    if "*" not in pattern:
        return pattern.__eq__
    regex = re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)
    return lambda value: regex.fullmatch(value) is not None


def _any_match(pattern: str, values: Iterable[str]) -> bool:
    match = _matcher(pattern)
    return any(match(value) for value in values)


@dataclass(frozen=True)
class AllAssets(Selection):
    """`*`: every asset."""

    def _select(self, ctx: _Context) -> frozenset[str]:
        return ctx.everything

    def _render(self) -> str:
        return "*"


@dataclass(frozen=True)
class KeyMatch(Selection):
    """`key:a/b` (must exist) or `key:a/*` (may match nothing)."""

    pattern: str

    def __post_init__(self) -> None:
        _check_value(self.pattern, "key")

    def _select(self, ctx: _Context) -> frozenset[str]:
        if "*" not in self.pattern:
            if self.pattern not in ctx.defs.assets:
                ctx.fail(f"unknown asset {self.pattern!r}{_pattern_hint(ctx.text)}")
            return frozenset({self.pattern})
        match = _matcher(self.pattern)
        return frozenset(key for key in ctx.everything if match(key))

    def _render(self) -> str:
        return f"key:{_quote(self.pattern)}"


@dataclass(frozen=True)
class TagMatch(Selection):
    """`tag:k=v`; `tag:k` is `tag:k=""` (the tag with an empty value, as in Dagster)."""

    key: str
    value: str = ""

    def __post_init__(self) -> None:
        _check_value(self.key, "tag key")
        _check_value(self.value, "tag value")
        if not self.key:
            raise InvalidInput("selection tag key must not be empty")

    def _select(self, ctx: _Context) -> frozenset[str]:
        key_match, value_match = _matcher(self.key), _matcher(self.value)
        return frozenset(
            asset
            for asset, node in ctx.defs.assets.items()
            if any(key_match(k) and value_match(v) for k, v in node.tags.items())
        )

    def _render(self) -> str:
        value = f"={_quote(self.value)}" if self.value else ""
        return f"tag:{_quote(self.key)}{value}"


@dataclass(frozen=True)
class GroupMatch(Selection):
    """`group:name`."""

    pattern: str

    def __post_init__(self) -> None:
        _check_value(self.pattern, "group")

    def _select(self, ctx: _Context) -> frozenset[str]:
        match = _matcher(self.pattern)
        return frozenset(key for key, node in ctx.defs.assets.items() if match(node.group))

    def _render(self) -> str:
        return f"group:{_quote(self.pattern)}"


@dataclass(frozen=True)
class OwnerMatch(Selection):
    """`owner:team:data`, `owner:"user@x.com"`: assets with a matching owner."""

    pattern: str

    def __post_init__(self) -> None:
        _check_value(self.pattern, "owner")

    def _select(self, ctx: _Context) -> frozenset[str]:
        return frozenset(
            key for key, node in ctx.defs.assets.items() if _any_match(self.pattern, node.owners)
        )

    def _render(self) -> str:
        return f"owner:{_quote(self.pattern)}"


@dataclass(frozen=True)
class KindMatch(Selection):
    """`kind:python`: assets with a matching kind."""

    pattern: str

    def __post_init__(self) -> None:
        _check_value(self.pattern, "kind")

    def _select(self, ctx: _Context) -> frozenset[str]:
        return frozenset(
            key for key, node in ctx.defs.assets.items() if _any_match(self.pattern, node.kinds)
        )

    def _render(self) -> str:
        return f"kind:{_quote(self.pattern)}"


@dataclass(frozen=True)
class CodeLocationMatch(Selection):
    """`code_location:name`: every asset if the snapshot's code location matches, else none."""

    pattern: str

    def __post_init__(self) -> None:
        _check_value(self.pattern, "code location")

    def _select(self, ctx: _Context) -> frozenset[str]:
        return ctx.everything if _matcher(self.pattern)(ctx.defs.code_location) else frozenset()

    def _render(self) -> str:
        return f"code_location:{_quote(self.pattern)}"


def _reach(
    start: frozenset[str], step: Callable[[str], tuple[str, ...]], depth: int | None
) -> set[str]:
    """`start` and everything `depth` steps away (None: any number of steps)."""
    found = set(start)
    frontier = set(start)
    level = 0
    while frontier and (depth is None or level < depth):
        frontier = {nxt for key in frontier for nxt in step(key)} - found
        found |= frontier
        level += 1
    return found


@dataclass(frozen=True)
class Traversal(Selection):
    """`N+X+M`: X with its ancestors up to `up` and descendants up to `down` levels.

    0 means no traversal on that side, None means unbounded (`+X` / `X+`).
    """

    selection: Selection
    up: int | None = 0
    down: int | None = 0

    def __post_init__(self) -> None:
        if not isinstance(self.selection, Selection):
            raise InvalidInput("a traversal needs a Selection to traverse from")
        for depth in (self.up, self.down):
            if depth is not None and (
                isinstance(depth, bool) or not isinstance(depth, int) or depth < 0
            ):
                raise InvalidInput("traversal depths must be non-negative integers or None")
        if self.up == 0 and self.down == 0:
            raise InvalidInput("a traversal needs an upstream or a downstream depth")

    def _select(self, ctx: _Context) -> frozenset[str]:
        base = self.selection._select(ctx)
        found = set(base)
        if self.up != 0:
            found |= _reach(base, ctx.defs.upstream, self.up)
        if self.down != 0:
            found |= _reach(base, ctx.defs.downstream, self.down)
        return frozenset(found)

    def _render(self) -> str:
        up = "" if self.up == 0 else "+" if self.up is None else f"{self.up}+"
        down = "" if self.down == 0 else "+" if self.down is None else f"+{self.down}"
        inner = self.selection
        text = inner._render()
        if not isinstance(inner, _TRAVERSABLE):
            text = f"({text})"
        return f"{up}{text}{down}"


@dataclass(frozen=True)
class Roots(Selection):
    """`roots(X)`: the assets of X with no ancestor in X (as Dagster: not only no parent);
    `roots()`: over all assets."""

    selection: Selection | None = None

    def _select(self, ctx: _Context) -> frozenset[str]:
        within = ctx.everything if self.selection is None else self.selection._select(ctx)
        below = frozenset(c for key in within for c in ctx.defs.downstream(key))
        return within - _reach(below, ctx.defs.downstream, None)

    def _render(self) -> str:
        return f"roots({'' if self.selection is None else self.selection._render()})"


@dataclass(frozen=True)
class Sinks(Selection):
    """`sinks(X)`: the assets of X with no descendant in X (as Dagster: not only no child);
    `sinks()`: over all assets."""

    selection: Selection | None = None

    def _select(self, ctx: _Context) -> frozenset[str]:
        within = ctx.everything if self.selection is None else self.selection._select(ctx)
        above = frozenset(p for key in within for p in ctx.defs.upstream(key))
        return within - _reach(above, ctx.defs.upstream, None)

    def _render(self) -> str:
        return f"sinks({'' if self.selection is None else self.selection._render()})"


@dataclass(frozen=True)
class Not(Selection):
    """`not X`: every asset outside X."""

    precedence: ClassVar[int] = _NOT
    selection: Selection

    def _select(self, ctx: _Context) -> frozenset[str]:
        return ctx.everything - self.selection._select(ctx)

    def _render(self) -> str:
        return f"not {self._operand(self.selection, _NOT)}"


@dataclass(frozen=True)
class And(Selection):
    """`X and Y`."""

    precedence: ClassVar[int] = _AND
    left: Selection
    right: Selection

    def _select(self, ctx: _Context) -> frozenset[str]:
        return self.left._select(ctx) & self.right._select(ctx)

    def _render(self) -> str:
        # Left-associative: a right operand of the same precedence needs parentheses.
        return f"{self._operand(self.left, _AND)} and {self._operand(self.right, _AND + 1)}"


@dataclass(frozen=True)
class Or(Selection):
    """`X or Y`."""

    precedence: ClassVar[int] = _OR
    left: Selection
    right: Selection

    def _select(self, ctx: _Context) -> frozenset[str]:
        return self.left._select(ctx) | self.right._select(ctx)

    def _render(self) -> str:
        return f"{self._operand(self.left, _OR)} or {self._operand(self.right, _OR + 1)}"


# What `+` may apply to without parentheses.
_TRAVERSABLE = (
    AllAssets,
    KeyMatch,
    TagMatch,
    GroupMatch,
    OwnerMatch,
    KindMatch,
    CodeLocationMatch,
    Roots,
    Sinks,
)


# --- the parser --------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.nesting = 0

    def fail(self, message: str, pos: int | None = None, hint: str = "") -> NoReturn:
        where = self.pos if pos is None else pos
        hint = f" ({hint})" if hint else ""
        raise InvalidInput(f"bad selection {self.text!r}: {message} at position {where}{hint}")

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def keyword(self, word: str) -> bool:
        """Consume `word` if it stands alone at the current position."""
        end = self.pos + len(word)
        if self.text.startswith(word, self.pos) and (
            end == len(self.text) or self.text[end] not in _WORD_CHARS
        ):
            self.pos = end
            return True
        return False

    # -- rules --

    def parse(self) -> Selection:
        self.skip_space()
        if self.pos == len(self.text):
            raise InvalidInput(f"bad selection {self.text!r}: the selection is empty")
        result = self.parse_or()
        self.skip_space()
        if self.pos != len(self.text):
            self.fail("expected 'and', 'or' or the end of the selection")
        return result

    def parse_or(self) -> Selection:
        left = self.parse_and()
        while True:
            self.skip_space()
            if not self.keyword("or"):
                return left
            left = Or(left, self.parse_and())

    def parse_and(self) -> Selection:
        left = self.parse_unary()
        while True:
            self.skip_space()
            if not self.keyword("and"):
                return left
            left = And(left, self.parse_unary())

    def parse_unary(self) -> Selection:
        self.skip_space()
        self.nesting += 1
        if self.nesting > _MAX_NESTING:
            self.fail(f"nested more than {_MAX_NESTING} levels deep")
        if self.keyword("not"):
            result: Selection = Not(self.parse_unary())
        else:
            result = self.parse_traversed()
        self.nesting -= 1
        return result

    def parse_traversed(self) -> Selection:
        down: int | None = 0
        up_depth: int | None = 0
        match = _UP.match(self.text, self.pos)
        if match:
            up_depth = int(match.group(1)) if match.group(1) else None
            self.pos = match.end()
            self.skip_space()
        atom_start = self.pos
        atom = self.parse_atom()
        after_atom = self.pos
        self.skip_space()
        if self.peek() == "+":
            self.pos += 1
            digits = _DIGITS.match(self.text, self.pos)
            assert digits is not None
            down = int(digits.group()) if digits.group() else None
            self.pos = digits.end()
        else:
            self.pos = after_atom
        if up_depth == 0 and down == 0:
            return atom
        bare = not self.text.startswith(("key:", '"', "("), atom_start)
        if isinstance(atom, KeyMatch) and bare:
            # A whole-string clause was read by _legacy_clause; here `+a` would mean something
            # else than it does alone, so it is refused rather than read two ways.
            self.fail(
                "a bare name with '+' is Dagster's old clause syntax, read only as the whole "
                "selection",
                atom_start,
                f"write key:{_quote(atom.pattern)} with the traversal",
            )
        return Traversal(atom, up=up_depth, down=down)

    def parse_atom(self) -> Selection:
        start = self.pos
        char = self.peek()
        if char == "(":
            self.pos += 1
            inner = self.parse_or()
            self.close_paren()
            return inner
        if char == '"':
            return KeyMatch(self.parse_quoted())
        word = _WORD.match(self.text, self.pos)
        if word is None:
            self.fail("expected an expression", start)
        name = word.group()
        self.pos = word.end()
        if name in _KEYWORDS and self.peek() != ":":  # "not" would have been read already
            self.fail("expected an expression", start)
        if self.peek() == ":":
            return self.parse_attribute(name, start)
        if name in _FUNCTIONS:
            self.skip_space()
            if self.peek() == "(":
                return self.parse_function(name)
            self.pos = word.end()
        if name == "*":
            return AllAssets()
        return KeyMatch(name)

    def close_paren(self) -> None:
        self.skip_space()
        if self.peek() != ")":
            self.fail("expected 'and', 'or' or ')'")
        self.pos += 1

    def parse_function(self, name: str) -> Selection:
        self.pos += 1  # "("
        self.skip_space()
        inner: Selection | None = None
        if self.peek() != ")":
            inner = self.parse_or()
        self.close_paren()
        return Roots(inner) if name == "roots" else Sinks(inner)

    def parse_attribute(self, name: str, start: int) -> Selection:
        if name not in ATTRIBUTES:
            if name.startswith("*") and name.lstrip("*") in ATTRIBUTES:
                self.fail(
                    "unexpected '*'",
                    start,
                    "'*' for upstream assets is the old syntax: write '+key:a' for 'a' and "
                    "all its upstream assets",
                )
            kind = "unsupported" if name in _UNSUPPORTED_ATTRIBUTES else "unknown"
            self.fail(
                f"{kind} attribute {name!r}",
                start,
                f"use {', '.join(ATTRIBUTES[:-1])} or {ATTRIBUTES[-1]}",
            )
        self.pos += 1  # ":"
        value = self.parse_value(f"'{name}:'")
        if name == "key":
            return KeyMatch(value)
        if name == "tag":
            tag_value = ""
            if self.peek() == "=":
                self.pos += 1
                tag_value = self.parse_value("'='")
            if not value:
                self.fail("a tag key must not be empty", start)
            return TagMatch(value, tag_value)
        if name == "group":
            return GroupMatch(value)
        if name == "owner":
            return OwnerMatch(value)
        if name == "kind":
            return KindMatch(value)
        return CodeLocationMatch(value)

    def parse_value(self, after: str) -> str:
        if self.peek() == '"':
            return self.parse_quoted()
        start = self.pos
        text = self.text
        while self.pos < len(text) and text[self.pos] not in _VALUE_STOP:
            if _CONTROL.match(text[self.pos]):
                break
            self.pos += 1
        if self.pos == start:
            self.fail(f"expected a value after {after}")
        return text[start : self.pos]

    def parse_quoted(self) -> str:
        start = self.pos
        self.pos += 1
        out: list[str] = []
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == '"':
                self.pos += 1
                return "".join(out)
            if _CONTROL.match(char):
                break
            if char == "\\" and self.pos + 1 < len(text) and text[self.pos + 1] in '"\\':
                self.pos += 1
                char = text[self.pos]
            out.append(char)
            self.pos += 1
        self.fail("unterminated string starting", start)


def parse_selection(text: str) -> Selection:
    """Parse a selection string; `InvalidInput` says where it went wrong and what was expected."""
    if not isinstance(text, str):
        raise InvalidInput(f"a selection must be a string, not {type(text).__name__}")
    if len(text) > _MAX_LENGTH:
        raise InvalidInput(f"bad selection: longer than {_MAX_LENGTH} characters")
    clause = _CLAUSE.fullmatch(text.strip())
    if clause is not None and clause.group(2) not in _KEYWORDS:
        return _legacy_clause(*clause.groups())
    return _Parser(text).parse()


def _pattern_hint(text: str) -> str:
    """Why `raw_*` (Dagster: `raw_` and every level down) is not a key pattern."""
    clause = _CLAUSE.fullmatch(text.strip())
    if clause is None or "*" not in clause.group(1) + clause.group(3):
        return ""
    pattern = text.strip().replace("+", "")
    return (
        f" ('*' around a bare name means every level up or down, Dagster's old clause syntax; "
        f"for a key pattern write key:{pattern})"
    )


def _legacy_clause(ancestors: str, name: str, descendants: str) -> Selection:
    """Dagster's `parse_clause` reading: `*` is every level, each `+` one level."""

    def depth(part: str) -> int | None:
        return None if "*" in part else len(part)

    up, down = depth(ancestors), depth(descendants)
    if up == 0 and down == 0:
        return KeyMatch(name)
    return Traversal(KeyMatch(name), up=up, down=down)


def select_assets(selection: Selection | str, defs: DefinitionsSnapshot) -> tuple[str, ...]:
    """The keys of the assets `selection` matches in `defs`, in topological order.

    An exact `key:x` naming no asset of `defs` is an `InvalidInput`.
    """
    if isinstance(selection, str):
        text = selection
        selection = parse_selection(selection)
    elif isinstance(selection, Selection):
        text = str(selection)
    else:
        raise InvalidInput(
            f"a selection must be a string or a Selection, not {type(selection).__name__}"
        )
    ctx = _Context(defs, frozenset(defs.assets), text)
    chosen = selection._select(ctx)
    return tuple(key for key in defs.topological_order() if key in chosen)
