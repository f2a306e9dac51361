"""OData query options as Dataverse reads them: $filter (parsed to a small tree and evaluated over
rows), $select, $expand with nested options, $orderby, $top.

PAD:webapi/query/filter-rows.md: comparisons eq ne gt ge lt le, and/or/not, parentheses, null,
contains/startswith/endswith (case-insensitive), lookup paths through single-valued navigation
properties, any/all over collection-valued ones. String comparisons are case-insensitive because
Dataverse's SQL collation is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from d365xero.emulators.dataverse.errors import PropertyNotFound, QuerySyntaxError

GUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<str>'(?:[^']|'')*')
  | (?P<dt>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)
  | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?![\w-])
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\w:])
  | (?P<num>-?\d+(?:\.\d+)?(?:[mMdDfF])?)(?![\w])
  | (?P<name>[@A-Za-z_][\w.]*(?:/[A-Za-z_$][\w.]*)*)
  | (?P<punct>[(),:\[\]=])
    )""",
    re.VERBOSE,
)

MAX_DEPTH = 100  # parentheses, `not`s and nested $expand (Python's own stack is the real bound)
COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
STRING_FUNCTIONS = {"contains", "startswith", "endswith"}


@dataclass(frozen=True)
class Lit:
    value: Any


@dataclass(frozen=True)
class Prop:
    path: tuple[str, ...]


@dataclass(frozen=True)
class Cmp:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class BoolOp:
    """`a and b and c` as one node, so long `or` chains do not nest thousands deep."""

    op: str  # "and" | "or"
    operands: tuple[Any, ...]


@dataclass(frozen=True)
class Not:
    operand: Any


@dataclass(frozen=True)
class Func:
    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Lambda:
    kind: str  # "any" | "all"
    nav: tuple[str, ...]
    var: str | None
    body: Any


@dataclass(frozen=True)
class In:
    prop: Prop
    values: tuple[Any, ...]


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise QuerySyntaxError(f"Syntax error at position {pos} in '{text}'.")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str, aliases: dict[str, str]) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.aliases = aliases
        self.vars: set[str] = set()
        self.depth = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise QuerySyntaxError(
                f"Expression expected at position {len(self.text)} in '{self.text}'."
            )
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        tok = self.take()
        if tok[1] != value:
            raise QuerySyntaxError(f"'{value}' expected at position {self.i} in '{self.text}'.")

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "name" and tok[1] == word

    def parse(self) -> Any:
        node = self.or_expr()
        if self.peek() is not None:
            raise QuerySyntaxError(
                f"Syntax error: character '{self.peek()[1]}' is not valid at "  # type: ignore[index]
                f"position {self.i} in '{self.text}'."
            )
        return node

    def or_expr(self) -> Any:
        operands = [self.and_expr()]
        while self.is_word("or"):
            self.take()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def and_expr(self) -> Any:
        operands = [self.not_expr()]
        while self.is_word("and"):
            self.take()
            operands.append(self.not_expr())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QuerySyntaxError(f"The expression '{self.text[:100]}...' is nested too deeply.")

    def not_expr(self) -> Any:
        if self.is_word("not"):
            self.take()
            self.nested()
            return Not(self.not_expr())
        return self.comparison()

    def comparison(self) -> Any:
        left = self.primary()
        tok = self.peek()
        if tok and tok[0] == "name" and tok[1] in COMPARISONS:
            self.take()
            return Cmp(tok[1], left, self.primary())
        return left

    def primary(self) -> Any:
        kind, value = self.take()
        if value == "(":
            self.nested()
            node = self.or_expr()
            self.expect(")")
            return node
        if kind == "str":
            return Lit(value[1:-1].replace("''", "'"))
        if kind == "guid":
            return Lit(value.lower())
        if kind == "date":
            return Lit(date.fromisoformat(value))
        if kind == "dt":
            return Lit(parse_datetime(value))
        if kind == "num":
            return Lit(_number(value))
        if kind == "name":
            return self.name(value)
        raise QuerySyntaxError(f"Syntax error at position {self.i} in '{self.text}'.")

    def name(self, value: str) -> Any:
        if value == "null":
            return Lit(None)
        if value in ("true", "false"):
            return Lit(value == "true")
        if value.startswith("@"):
            if value not in self.aliases:
                raise QuerySyntaxError(f"The parameter alias '{value}' is not defined.")
            return _Parser(self.aliases[value], {}).primary_only()
        nxt = self.peek()
        if nxt and nxt[1] == "(":
            return self.call(value)
        if value.endswith(("/any", "/all")):
            raise QuerySyntaxError(f"'(' expected after '{value}' in '{self.text}'.")
        return Prop(tuple(value.split("/")))

    def primary_only(self) -> Any:
        node = self.primary()
        return node

    def call(self, name: str) -> Any:
        self.expect("(")
        if name.endswith(("/any", "/all")):
            return self.lambda_(name)
        if name == "Microsoft.Dynamics.CRM.In" or name == "Microsoft.Dynamics.CRM.NotIn":
            return self.in_(name)
        if name not in STRING_FUNCTIONS:
            raise QuerySyntaxError(f"An unknown function with name '{name}' was found.")
        args = [self.or_expr()]
        while self.peek() and self.peek()[1] == ",":  # type: ignore[index]
            self.take()
            args.append(self.or_expr())
        self.expect(")")
        if len(args) != 2:
            raise QuerySyntaxError(
                f"No function signature for the function with name '{name}' "
                f"matches the specified arguments."
            )
        return Func(name, tuple(args))

    def lambda_(self, name: str) -> Any:
        nav, kind = name.rsplit("/", 1)
        if self.peek() and self.peek()[1] == ")":  # type: ignore[index]
            self.take()
            return Lambda(kind, tuple(nav.split("/")), None, None)
        var = self.take()[1]
        self.expect(":")
        self.vars.add(var)
        body = self.or_expr()
        self.expect(")")
        return Lambda(kind, tuple(nav.split("/")), var, body)

    def in_(self, name: str) -> Any:
        args: dict[str, Any] = {}
        while True:
            key = self.take()[1]
            self.expect("=")
            if self.peek() and self.peek()[1] == "[":  # type: ignore[index]
                self.take()
                items = []
                while self.peek() and self.peek()[1] != "]":  # type: ignore[index]
                    if self.peek()[1] == ",":  # type: ignore[index]
                        self.take()
                        continue
                    item = self.primary()
                    if not isinstance(item, Lit):
                        raise QuerySyntaxError(f"'{name}' takes literal values only.")
                    items.append(item.value)
                self.expect("]")
                args[key] = tuple(items)
            else:
                args[key] = self.primary()
            if self.peek() and self.peek()[1] == ",":  # type: ignore[index]
                self.take()
                continue
            break
        self.expect(")")
        prop: Any = args.get("PropertyName")
        values: Any = args.get("PropertyValues")
        if not isinstance(prop, Lit) or not isinstance(values, tuple):
            raise QuerySyntaxError(f"'{name}' needs PropertyName and PropertyValues.")
        node = In(Prop(tuple(str(prop.value).split("/"))), values)
        return Not(node) if name.endswith("NotIn") else node


def _number(text: str) -> int | Decimal:
    text = text.rstrip("mMdDfF")
    try:
        return int(text)
    except ValueError:
        try:
            return Decimal(text)
        except InvalidOperation as exc:
            raise QuerySyntaxError() from exc


def parse_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_filter(text: str, aliases: dict[str, str] | None = None) -> Any:
    if not text.strip():
        raise QuerySyntaxError("The $filter expression is empty.")
    return _Parser(text, aliases or {}).parse()


# --- $select, $orderby, $expand ----------------------------------------------------------------


def split_top(text: str, sep: str) -> list[str]:
    """Splits on `sep` outside parentheses and quotes."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and ch == sep:
            parts.append(text[start:i])
            start = i + 1
    if depth != 0:
        raise QuerySyntaxError(f"Unbalanced parentheses in '{text}'.")
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def parse_select(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return split_top(text, ",")


def parse_orderby(text: str | None) -> list[tuple[tuple[str, ...], bool]]:
    if not text:
        return []
    out = []
    for item in split_top(text, ","):
        words = item.split()
        if len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise QuerySyntaxError(f"Syntax error in $orderby '{text}'.")
        out.append((tuple(words[0].split("/")), len(words) == 2 and words[1] == "desc"))
    return out


def parse_top(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit():
        raise QuerySyntaxError(
            f"Invalid value '{text}' for $top query option found. The $top query option requires "
            "a non-negative integer value."
        )
    return int(text)


@dataclass
class Expand:
    nav: str
    select: list[str] | None = None
    filter: Any = None
    orderby: list[tuple[tuple[str, ...], bool]] = field(default_factory=list)
    top: int | None = None
    expand: list[Expand] = field(default_factory=list)
    has_options: set[str] = field(default_factory=set)


def parse_expand(text: str | None, depth: int = 0) -> list[Expand]:
    if not text:
        return []
    if depth > MAX_DEPTH:
        raise QuerySyntaxError("The $expand option is nested too deeply.")
    out = []
    for item in split_top(text, ","):
        m = re.fullmatch(r"([\w.]+)\s*(?:\((.*)\))?", item, re.DOTALL)
        if not m:
            raise QuerySyntaxError(f"Syntax error in $expand '{text}'.")
        exp = Expand(m.group(1))
        for option in split_top(m.group(2) or "", ";"):
            key, _, value = option.partition("=")
            exp.has_options.add(key)
            if key == "$select":
                exp.select = parse_select(value)
            elif key == "$filter":
                exp.filter = parse_filter(value)
            elif key == "$orderby":
                exp.orderby = parse_orderby(value)
            elif key == "$top":
                exp.top = parse_top(value)
            elif key == "$expand":
                exp.expand = parse_expand(value, depth + 1)
            else:
                # PAD:webapi/query/join-tables.md: $skip, $count, $search, $levels unsupported.
                raise QuerySyntaxError(f"The query option '{key}' is not supported in $expand.")
        out.append(exp)
    return out


# --- evaluation ------------------------------------------------------------------------------


class Resolver(Protocol):
    """What evaluation needs from the organisation's data."""

    def value(self, entity: str, row: dict[str, Any], name: str) -> Any: ...

    def follow(
        self, entity: str, row: dict[str, Any], nav: str
    ) -> tuple[str, dict[str, Any]] | None: ...

    def related(
        self, entity: str, row: dict[str, Any], nav: str
    ) -> tuple[str, list[dict[str, Any]]]: ...

    def check_property(self, entity: str, name: str) -> None: ...

    def nav_kind(self, entity: str, nav: str) -> tuple[str, str] | None: ...


def _fold(value: Any) -> Any:
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, bool):
        return int(value)
    return value


def compare(op: str, left: Any, right: Any) -> bool:
    if op == "eq":
        return (
            _fold(left) == _fold(right) if left is not None and right is not None else left is right
        )
    if op == "ne":
        return not compare("eq", left, right)
    if left is None or right is None:
        return False
    a, b = _fold(left), _fold(right)
    if isinstance(a, datetime) and isinstance(b, date) and not isinstance(b, datetime):
        a = a.date()
    if isinstance(b, datetime) and isinstance(a, date) and not isinstance(a, datetime):
        b = b.date()
    try:
        if op == "gt":
            return bool(a > b)
        if op == "ge":
            return bool(a >= b)
        if op == "lt":
            return bool(a < b)
        return bool(a <= b)
    except TypeError as exc:
        raise QuerySyntaxError(
            f"A binary operator with incompatible types was detected: '{op}' on "
            f"'{type(left).__name__}' and '{type(right).__name__}'."
        ) from exc


class Evaluator:
    def __init__(self, resolver: Resolver) -> None:
        self.r = resolver

    def check(self, node: Any, entity: str, scope: dict[str, str] | None = None) -> None:
        """Raises PropertyNotFound for unknown names, before any row is read."""
        scope = scope or {}
        if isinstance(node, Prop):
            self._check_path(node.path, entity, scope)
        elif isinstance(node, Cmp):
            self.check(node.left, entity, scope)
            self.check(node.right, entity, scope)
        elif isinstance(node, BoolOp):
            for operand in node.operands:
                self.check(operand, entity, scope)
        elif isinstance(node, Not):
            self.check(node.operand, entity, scope)
        elif isinstance(node, Func):
            for arg in node.args:
                self.check(arg, entity, scope)
        elif isinstance(node, In):
            self.check(node.prop, entity, scope)
        elif isinstance(node, Lambda):
            child = self._nav_target(entity, node.nav, collection=True)
            if node.body is not None and node.var:
                self.check(node.body, entity, {**scope, node.var: child})

    def _nav_target(self, entity: str, nav: tuple[str, ...], collection: bool) -> str:
        current = entity
        for i, step in enumerate(nav):
            kind = self.r.nav_kind(current, step)
            if kind is None:
                raise PropertyNotFound(step, current)
            if kind[1] == "collection" and i != len(nav) - 1:
                raise QuerySyntaxError(f"'{step}' is a collection; use any or all.")
            current = kind[0]
        return current

    def _check_path(self, path: tuple[str, ...], entity: str, scope: dict[str, str]) -> None:
        if path[0] in scope:
            entity, path = scope[path[0]], path[1:]
        if len(path) > 1:
            entity = self._nav_target(entity, path[:-1], collection=False)
        self.r.check_property(entity, path[-1])

    def matches(
        self, node: Any, entity: str, row: dict[str, Any], scope: dict[str, Any] | None = None
    ) -> bool:
        return bool(self.eval(node, entity, row, scope or {}))

    def eval(self, node: Any, entity: str, row: dict[str, Any], scope: dict[str, Any]) -> Any:
        if isinstance(node, Lit):
            return node.value
        if isinstance(node, Prop):
            return self._resolve(node.path, entity, row, scope)
        if isinstance(node, Cmp):
            return compare(
                node.op,
                self.eval(node.left, entity, row, scope),
                self.eval(node.right, entity, row, scope),
            )
        if isinstance(node, BoolOp):
            values = (bool(self.eval(o, entity, row, scope)) for o in node.operands)
            return all(values) if node.op == "and" else any(values)
        if isinstance(node, Not):
            return not self.eval(node.operand, entity, row, scope)
        if isinstance(node, Func):
            return self._func(node, entity, row, scope)
        if isinstance(node, In):
            value = self._resolve(node.prop.path, entity, row, scope)
            return any(compare("eq", value, v) for v in node.values)
        if isinstance(node, Lambda):
            return self._lambda(node, entity, row, scope)
        raise QuerySyntaxError()

    def _resolve(
        self, path: tuple[str, ...], entity: str, row: dict[str, Any], scope: dict[str, Any]
    ) -> Any:
        if path[0] in scope:
            entity, row = scope[path[0]]
            path = path[1:]
        for nav in path[:-1]:
            hop = self.r.follow(entity, row, nav)
            if hop is None:
                return None
            entity, row = hop
        return self.r.value(entity, row, path[-1])

    def _func(self, node: Func, entity: str, row: dict[str, Any], scope: dict[str, Any]) -> bool:
        value = self.eval(node.args[0], entity, row, scope)
        needle = self.eval(node.args[1], entity, row, scope)
        if value is None or needle is None:
            return False
        haystack, needle = str(value).casefold(), str(needle).casefold()
        if node.name == "contains":
            return needle in haystack
        if node.name == "startswith":
            return haystack.startswith(needle)
        return haystack.endswith(needle)

    def _lambda(
        self, node: Lambda, entity: str, row: dict[str, Any], scope: dict[str, Any]
    ) -> bool:
        for nav in node.nav[:-1]:
            hop = self.r.follow(entity, row, nav)
            if hop is None:
                return False
            entity, row = hop
        child, rows = self.r.related(entity, row, node.nav[-1])
        if node.body is None or node.var is None:
            return bool(rows)
        test = (self.eval(node.body, child, r, {**scope, node.var: (child, r)}) for r in rows)
        return any(test) if node.kind == "any" else all(test)


def sort_key(value: Any) -> tuple[int, Any]:
    """Nulls first in ascending order (SQL Server), strings case-insensitive."""
    if value is None:
        return (0, 0)
    if isinstance(value, str):
        return (1, value.casefold())
    if isinstance(value, bool):
        return (1, int(value))
    return (1, value)


def order_rows(
    rows: list[dict[str, Any]],
    orderby: Iterable[tuple[tuple[str, ...], bool]],
    key_of: Callable[[dict[str, Any], tuple[str, ...]], Any],
) -> list[dict[str, Any]]:
    out = list(rows)
    for path, desc in reversed(list(orderby)):
        out.sort(key=lambda r, p=path: sort_key(key_of(r, p)), reverse=desc)  # type: ignore[misc]
    return out
