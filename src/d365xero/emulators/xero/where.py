"""Xero's `where` filter: a small .NET-LINQ-like language (reference/xero.md §3.6), e.g.
`Name=="Bayside Club"`, `Status=="DRAFT" AND Type=="ACCREC"`, `Contact.ContactID==Guid("...")`,
`Date>=DateTime(2026,01,01)`, `Name.Contains("Club")`, `Name!=null`.

The filter is evaluated against the rendered resource, so field names are Xero's own.
String comparison ignores case, as Xero's database collation does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from d365xero.emulators.xero.errors import QueryParseException
from d365xero.emulators.xero.wire import parse_datetime

Predicate = Callable[[dict[str, Any]], Any]

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op>==|!=|>=|<=|&&|\|\||[<>(),!])
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    )""",
    re.VERBOSE,
)
_METHODS = {"Contains", "StartsWith", "EndsWith", "ToLower", "ToUpper"}
_KEYWORDS = {"AND": "&&", "OR": "||", "NOT": "!"}
MAX_DEPTH = 32  # nesting of ( and NOT; deeper filters are refused, never a stack overflow


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise QueryParseException(f"Syntax error at position {pos} in '{text}'")
        pos = match.end()
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "ident" and value.upper() in _KEYWORDS:
            kind, value = "op", _KEYWORDS[value.upper()]
        tokens.append((kind, value))
    return tokens


def _normalise(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, str) and value.startswith("/Date("):
        return parse_datetime(value)
    return value


def _field(resource: dict[str, Any], path: str) -> Any:
    value: Any = resource
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return _normalise(value)


def _compare(left: Any, op: str, right: Any) -> bool:
    if isinstance(left, date) and not isinstance(left, datetime):
        left = datetime(left.year, left.month, left.day, tzinfo=UTC)
    if isinstance(right, date) and not isinstance(right, datetime):
        right = datetime(right.year, right.month, right.day, tzinfo=UTC)
    if isinstance(left, str) and isinstance(right, str):
        left, right = left.lower(), right.lower()
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        return bool(
            {
                ">": left > right,
                "<": left < right,
                ">=": left >= right,
                "<=": left <= right,
            }[op]
        )
    except TypeError:
        return False


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.depth = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            want = f"'{value}'" if value else "an operand"
            raise QueryParseException(f"Expected {want} in '{self.text}'")
        self.pos += 1
        return token

    def parse(self) -> Predicate:
        predicate = self.expr()
        if self.peek() is not None:
            raise QueryParseException(f"Syntax error near '{self.peek()[1]}' in '{self.text}'")  # type: ignore[index]
        return predicate

    def expr(self) -> Predicate:
        left = self.and_expr()
        while self.peek() == ("op", "||"):
            self.take()
            left = _either(left, self.and_expr())
        return left

    def and_expr(self) -> Predicate:
        left = self.unary()
        while self.peek() == ("op", "&&"):
            self.take()
            left = _both(left, self.unary())
        return left

    def unary(self) -> Predicate:
        if self.peek() in (("op", "!"), ("op", "(")):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QueryParseException(f"The expression is nested too deeply: '{self.text}'")
        if self.peek() == ("op", "!"):
            self.take()
            inner = self.unary()
            self.depth -= 1
            return lambda r: not inner(r)
        if self.peek() == ("op", "("):
            self.take()
            inner = self.expr()
            self.take(")")
            self.depth -= 1
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        left = self.operand()
        token = self.peek()
        if token and token[0] == "op" and token[1] in ("==", "!=", ">", "<", ">=", "<="):
            self.take()
            right, op = self.operand(), token[1]

            def compare(r: dict[str, Any]) -> bool:
                return _compare(left(r), op, right(r))

            return compare
        return left

    def args(self) -> list[Any]:
        self.take("(")
        values: list[Any] = []
        while self.peek() != ("op", ")"):
            kind, value = self.take()
            if kind == "string":
                values.append(_unquote(value))
            elif kind == "number":
                values.append(Decimal(value))
            else:
                raise QueryParseException(f"Unexpected '{value}' in '{self.text}'")
            if self.peek() == ("op", ","):
                self.take()
        self.take(")")
        return values

    def operand(self) -> Predicate:
        kind, value = self.take()
        if kind == "string":
            text = _unquote(value)
            return lambda r: text
        if kind == "number":
            number = Decimal(value)
            return lambda r: number
        if kind != "ident":
            raise QueryParseException(f"Unexpected '{value}' in '{self.text}'")
        if value in ("true", "false"):
            truth = value == "true"
            return lambda r: truth
        if value == "null":
            return lambda r: None
        if self.peek() == ("op", "("):
            return self.call(value)
        return lambda r: _field(r, value)

    def call(self, name: str) -> Predicate:
        args = self.args()
        if name == "Guid" and len(args) == 1:
            guid = str(args[0]).lower()
            return lambda r: guid
        if name == "DateTime" and 3 <= len(args) <= 6:
            try:
                parts = [int(a) for a in args] + [0, 0, 0]
                year, month, day, hour, minute, second = parts[:6]
                moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except (TypeError, ValueError, OverflowError) as exc:
                raise QueryParseException(f"Invalid DateTime in '{self.text}'") from exc
            return lambda r: moment
        path, _, method = name.rpartition(".")
        if not path or method not in _METHODS:
            raise QueryParseException(f"No applicable method '{name}' in '{self.text}'")
        return _method(path, method, args)


def _either(a: Predicate, b: Predicate) -> Predicate:
    return lambda r: bool(a(r)) or bool(b(r))


def _both(a: Predicate, b: Predicate) -> Predicate:
    return lambda r: bool(a(r)) and bool(b(r))


def _method(path: str, method: str, args: list[Any]) -> Predicate:
    def apply(resource: dict[str, Any]) -> Any:
        value = _field(resource, path)
        if not isinstance(value, str):
            return None if method in ("ToLower", "ToUpper") else False
        if method == "ToLower":
            return value.lower()
        if method == "ToUpper":
            return value.upper()
        needle = str(args[0]).lower() if args else ""
        text = value.lower()
        if method == "Contains":
            return needle in text
        if method == "StartsWith":
            return text.startswith(needle)
        return text.endswith(needle)

    return apply


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1])


def compile_where(text: str | None) -> Predicate | None:
    """A predicate over rendered resources, or None for an empty filter."""
    if not text or not text.strip():
        return None
    return _Parser(text).parse()


def matches_guid(value: Any, guid: str) -> bool:
    return isinstance(value, str) and value.lower() == guid.lower()
