"""The filter language of `--where`, `edit --where` and the dashboard: parsed here, never evaluated as Python.

    loss > 1.5 and label == 1
    split in ["train", "val"] and not (weight == 0)
    time_to_event_s is null or abs(time_to_event_s - 1) < 0.5
    startswith(video_id, "016") and `run loss` >= 2

Grammar (lowest precedence first):
    expr       := and_expr ( ("or" | "|") and_expr )*
    and_expr   := not_expr ( ("and" | "&") not_expr )*
    not_expr   := "not" not_expr | comparison
    comparison := sum [ ("=="|"!="|"<"|"<="|">"|">=") sum | ["not"] "in" list | "is" ["not"] "null" ]
    sum        := product ( ("+"|"-") product )*
    product    := unary ( ("*"|"/") unary )*
    unary      := "-" unary | atom
    atom       := number | string | true | false | null | column | function "(" args ")" | "(" expr ")"
    list       := ("[" | "(") literal ("," literal)* [","] ("]" | ")")

A column is a bare name or a `backquoted name`. Only the functions in FUNCTIONS exist. The result is a
pyarrow compute expression, type-checked against the table's schema before anything runs; a filter must be
a condition (true/false per row), so `label + 1` is refused rather than read as "non-zero". Rows where a
condition is null (a missing value) do not match.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from curation.errors import BadInput

MAX_LENGTH = 4000  # characters: a filter is typed or built by a page, never a data dump
MAX_DEPTH = 40  # nesting of parentheses and operators
MAX_LIST = 10_000  # values in one `in [...]`

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<quoted>`[^`]+`)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,|\+|-|\*|/|&|\|)
""", re.VERBOSE)
_KEYWORDS = {"and", "or", "not", "in", "is", "null", "none", "true", "false"}
_COMPARE = {"==": pc.equal, "!=": pc.not_equal, "<": pc.less, "<=": pc.less_equal, ">": pc.greater,
            ">=": pc.greater_equal}
# checked: integer overflow is an error (a one-line refusal), never a wrapped-around number
_ARITH = {"+": pc.add_checked, "-": pc.subtract_checked, "*": pc.multiply_checked, "/": pc.divide}


@dataclass(frozen=True)
class _Typed:
    """A compiled sub-expression and its kind: number, string, bool, null (the literal) or other."""

    expr: pc.Expression
    kind: str


_SHOWN = {"number": "number", "string": "text", "bool": "condition", "null": "null", "other": "list or binary value"}


def _kind(t: pa.DataType) -> str:
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "number"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t):
        return "string"
    return "other"


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def _fn_abs(p, args):
    p.expect_kind(args[0], "number", "abs()")
    return _Typed(pc.abs(args[0].expr), "number")


def _fn_null(negate: bool):
    def fn(p, args):
        expr = args[0].expr.is_null(nan_is_null=True) if args[0].kind != "null" else pc.scalar(True)
        return _Typed(pc.invert(expr) if negate else expr, "bool")
    return fn


def _fn_text(kernel):
    def fn(p, args):
        p.expect_kind(args[0], "string", "its first argument")
        p.expect_kind(args[1], "string", "its second argument")
        if not isinstance(getattr(args[1], "literal", None), str):
            raise p.error("the text to look for must be a quoted string")
        return _Typed(kernel(args[0].expr, args[1].literal), "bool")
    return fn


# name → (number of arguments, builder)
FUNCTIONS = {
    "abs": (1, _fn_abs),
    "isnull": (1, _fn_null(False)),
    "notnull": (1, _fn_null(True)),
    "startswith": (2, _fn_text(lambda e, s: pc.starts_with(e, pattern=s))),
    "endswith": (2, _fn_text(lambda e, s: pc.ends_with(e, pattern=s))),
    "contains": (2, _fn_text(lambda e, s: pc.match_substring(e, pattern=s))),
}


@dataclass(frozen=True)
class _Literal(_Typed):
    literal: object = None


class _Parser:
    def __init__(self, text: str, schema: pa.Schema):
        self.text = text
        self.schema = schema
        self.tokens = self._tokenize(text)
        self.pos = 0
        self.depth = 0

    # -- errors -----------------------------------------------------------------------------------------
    def error(self, problem: str) -> BadInput:
        columns = ", ".join(self.schema.names[:30]) + (" …" if len(self.schema.names) > 30 else "")
        return BadInput(f"cannot read filter {_shorten(self.text)!r}: {problem}",
                        f"write conditions on columns ({columns}) with ==, !=, <, >, in [..], is null, "
                        "and/or/not, + - * /")

    def expect_kind(self, item: _Typed, kind: str, what: str) -> None:
        if item.kind != kind:
            raise self.error(f"{what} must be a {_SHOWN[kind]}, not a {_SHOWN[item.kind]}")

    # -- tokens -----------------------------------------------------------------------------------------
    def _tokenize(self, text: str) -> list[tuple[str, str]]:
        tokens, pos = [], 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                hint = "; use == to compare" if text[pos] == "=" else ""
                raise self.error(f"unexpected {text[pos]!r} at character {pos + 1}{hint}")
            pos = m.end()
            if m.lastgroup != "space":
                kind, value = m.lastgroup, m.group()
                if kind == "name" and value.lower() in _KEYWORDS:
                    kind, value = "keyword", value.lower()
                tokens.append((kind, value))
        return tokens

    def peek(self, *values: str) -> bool:
        if self.pos >= len(self.tokens):
            return False
        kind, value = self.tokens[self.pos]
        return kind in ("op", "keyword") and value in values

    def take(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise self.error("it ends too early")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def expect(self, value: str) -> None:
        kind, got = self.take()
        if got != value or kind not in ("op", "keyword"):
            raise self.error(f"expected {value!r}, found {got!r}")

    def nested(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"it nests deeper than {MAX_DEPTH} levels")
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.depth -= 1

    # -- grammar ----------------------------------------------------------------------------------------
    def parse(self) -> pc.Expression:
        if not self.tokens:
            raise self.error("it is empty")
        result = self.or_expr()
        if self.pos != len(self.tokens):
            raise self.error(f"unexpected {self.tokens[self.pos][1]!r} after a complete condition")
        if result.kind != "bool":
            raise self.error(f"it is a {_SHOWN[result.kind]}, not a condition (write e.g. `label == 1`)")
        return result.expr

    def _logical(self, words: tuple[str, ...], inner, combine) -> _Typed:
        with self.nested():
            left = inner()
            while self.peek(*words):
                self.take()
                right = inner()
                for side in (left, right):
                    self.expect_kind(side, "bool", f"each side of {words[0]!r}")
                left = _Typed(combine(left.expr, right.expr), "bool")
            return left

    def or_expr(self) -> _Typed:
        return self._logical(("or", "|"), self.and_expr, pc.or_kleene)

    def and_expr(self) -> _Typed:
        return self._logical(("and", "&"), self.not_expr, pc.and_kleene)

    def not_expr(self) -> _Typed:
        with self.nested():
            if self.peek("not"):
                self.take()
                inner = self.not_expr()
                self.expect_kind(inner, "bool", "what follows 'not'")
                return _Typed(pc.invert(inner.expr), "bool")
            return self.comparison()

    def comparison(self) -> _Typed:
        left = self.sum()
        if self.peek(*_COMPARE):
            op = self.take()[1]
            right = self.sum()
            if "null" in (left.kind, right.kind):
                raise self.error("compare with null using `is null` / `is not null`")
            if left.kind != right.kind or left.kind == "other":
                raise self.error(f"cannot compare a {_SHOWN[left.kind]} with a {_SHOWN[right.kind]} ({op})")
            return _Typed(_COMPARE[op](left.expr, right.expr), "bool")
        if self.peek("in") or (self.peek("not") and self._next_is("in")):
            negate = self.take()[1] == "not"
            if negate:
                self.take()
            values = self.value_list(left)
            expr = left.expr.isin(values)
            return _Typed(pc.invert(expr) if negate else expr, "bool")
        if self.peek("is"):
            self.take()
            negate = self.peek("not")
            if negate:
                self.take()
            kind, value = self.take()
            if value not in ("null", "none"):
                raise self.error(f"expected null after 'is', found {value!r}")
            return FUNCTIONS["notnull" if negate else "isnull"][1](self, [left])
        return left

    def _next_is(self, value: str) -> bool:
        return self.pos + 1 < len(self.tokens) and self.tokens[self.pos + 1][1] == value

    def value_list(self, left: _Typed) -> pa.Array:
        if not self.peek("[", "("):
            raise self.error("'in' needs a list of values, e.g. in [1, 2] or in (\"a\", \"b\")")
        close = "]" if self.take()[1] == "[" else ")"
        values = []
        while not self.peek(close):
            item = self.unary()
            if not isinstance(item, _Literal):
                raise self.error("a list after 'in' holds plain values (numbers, strings, true/false)")
            if item.kind != left.kind:
                raise self.error(f"cannot look for a {_SHOWN[item.kind]} among {_SHOWN[left.kind]} values")
            values.append(item.literal)
            if len(values) > MAX_LIST:
                raise self.error(f"a list after 'in' holds at most {MAX_LIST} values")
            if not self.peek(close):
                self.expect(",")
        self.expect(close)
        if not values:
            raise self.error("the list after 'in' is empty")
        return pa.array(values)

    def _arith(self, ops: tuple[str, ...], inner) -> _Typed:
        with self.nested():
            left = inner()
            while self.peek(*ops):
                op = self.take()[1]
                right = inner()
                for side in (left, right):
                    self.expect_kind(side, "number", f"each side of {op!r}")
                a, b = left.expr, right.expr
                if op == "/":  # true division, also for integer columns (and no error on 0)
                    a, b = a.cast(pa.float64()), b.cast(pa.float64())
                left = _Typed(_ARITH[op](a, b), "number")
            return left

    def sum(self) -> _Typed:
        return self._arith(("+", "-"), self.product)

    def product(self) -> _Typed:
        return self._arith(("*", "/"), self.unary)

    def unary(self) -> _Typed:
        with self.nested():
            if self.peek("-"):
                self.take()
                inner = self.unary()
                self.expect_kind(inner, "number", "what follows '-'")
                if isinstance(inner, _Literal):
                    return _Literal(pc.scalar(-inner.literal), "number", -inner.literal)
                return _Typed(pc.negate_checked(inner.expr), "number")
            return self.atom()

    def atom(self) -> _Typed:
        kind, value = self.take()
        if kind == "number":
            number = float(value) if any(c in value for c in ".eE") else int(value)
            if isinstance(number, int) and abs(number) >= 2 ** 63:
                raise self.error(f"the number {_shorten(value, 20)} is too large")
            return _Literal(pc.scalar(number), "number", number)
        if kind == "string":
            text = _unquote(value)
            return _Literal(pc.scalar(text), "string", text)
        if kind == "keyword" and value in ("true", "false"):
            return _Literal(pc.scalar(value == "true"), "bool", value == "true")
        if kind == "keyword" and value in ("null", "none"):
            return _Literal(pc.scalar(None), "null", None)
        if kind == "op" and value == "(":
            inner = self.or_expr()
            self.expect(")")
            return inner
        if kind == "name" and self.peek("("):
            return self.call(value)
        if kind in ("name", "quoted"):
            column = value if kind == "name" else value[1:-1]
            if column not in self.schema.names:
                raise self.error(f"unknown column {column!r}")
            return _Typed(pc.field(column), _kind(self.schema.field(column).type))
        raise self.error(f"unexpected {value!r}")

    def call(self, name: str) -> _Typed:
        if name not in FUNCTIONS:
            raise self.error(f"unknown function {name!r} (functions: {', '.join(FUNCTIONS)})")
        arity, build = FUNCTIONS[name]
        self.expect("(")
        args = []
        while not self.peek(")"):
            args.append(self.or_expr())
            if not self.peek(")"):
                self.expect(",")
        self.expect(")")
        if len(args) != arity:
            raise self.error(f"{name}() takes {arity} argument(s), got {len(args)}")
        return build(self, args)


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def compile_filter(text: str, schema: pa.Schema) -> pc.Expression:
    """The condition `text` as a pyarrow expression over `schema`; BadInput (one line) if it is not one."""
    if not isinstance(text, str):
        raise BadInput("a filter must be text", "write e.g. label == 1")
    if len(text) > MAX_LENGTH:
        raise BadInput(f"the filter is {len(text):,} characters long (at most {MAX_LENGTH:,})",
                       "write a shorter condition, or select the ids from a file")
    return _Parser(text, schema).parse()


def filter_table(table: pa.Table, text: str) -> pa.Table:
    """The rows of `table` for which the condition `text` holds."""
    expr = compile_filter(text, table.schema)
    try:
        return table.filter(expr)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:  # e.g. overflow
        first = str(exc).strip().splitlines()[0][:120]
        raise BadInput(f"cannot apply filter {_shorten(text)!r}: {first}", "simplify the condition") from None
