"""Search spaces: hydra-optuna-sweeper's expression syntax parsed into Optuna distributions.

A space file (``conf/space/<name>.yaml``) maps dotted training keys to expressions::

    params:
      optimizer.lr: tag(log, interval(1e-4, 1.0))
      method_kwargs.temperature: interval(0.05, 0.5)
      method_kwargs.proj_output_dim: choice(32, 64, 128)
      optimizer.batch_size: range(64, 257, 64)   # 64, 128, 192, 256 (end exclusive)

The parser is a small recursive-descent one over a fixed grammar, never ``eval``:

- ``interval(a, b)``: floats in ``[a, b]``;
- ``int(interval(a, b))``: integers in ``[a, b]``;
- ``tag(log, interval(a, b))`` and ``tag(log, int(interval(a, b)))``: log-uniform;
- ``range(a, b)`` and ``range(a, b, step)``: ``a, a+step, ...`` below ``b`` (Hydra's and
  Python's exclusive end); integers when all three are integers, floats otherwise;
- ``choice(v1, v2, ...)``: numbers, ``true``/``false``, ``null``, bare words or quoted strings.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

__all__ = ["ALLOWED_FORMS", "Param", "parse_expression", "parse_space"]

ALLOWED_FORMS = (
    "interval(a, b)",
    "int(interval(a, b))",
    "tag(log, interval(a, b))",
    "tag(log, int(interval(a, b)))",
    "range(a, b)",
    "range(a, b, step)",
    "choice(v1, v2, ...)",
)

Scalar = int | float | str | bool | None

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.]))
      | (?P<str>'[^']*'|"[^"]*")
      | (?P<word>[A-Za-z_][\w.\-/]*)
      | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Param:
    """One searched training key.

    Attributes:
        key: dotted training key, e.g. ``optimizer.lr``.
        expression: the expression as written.
        distribution: the Optuna distribution it denotes.
        grid: the finite list of values for the grid sampler, or None for continuous intervals.
    """

    key: str
    expression: str
    distribution: BaseDistribution
    grid: tuple[Scalar, ...] | None


class _Syntax(ValueError):
    pass


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise _Syntax(f"unexpected character {text[pos:].strip()[:1]!r} at position {pos}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, kind: str, value: str | None = None) -> str:
        token = self.peek()
        want = value or kind
        if token is None:
            raise _Syntax(f"expected {want!r} but the expression ended")
        if token[0] != kind or (value is not None and token[1] != value):
            raise _Syntax(f"expected {want!r} but found {token[1]!r}")
        self.pos += 1
        return token[1]

    def call(self) -> tuple[str, list[Any]]:
        """Parses ``name(arg, ...)``; an argument is a nested call or a scalar."""
        token = self.peek()
        if token is None or token[0] != "word":
            found = "nothing" if token is None else repr(token[1])
            raise _Syntax(f"expected a function name such as interval or choice, found {found}")
        name = self.take("word")
        self.take("punct", "(")
        args: list[Any] = []
        if self.peek() != ("punct", ")"):
            while True:
                args.append(self.argument())
                if self.peek() == ("punct", ","):
                    self.pos += 1
                    continue
                break
        self.take("punct", ")")
        return name, args

    def argument(self) -> Any:
        token = self.peek()
        if token is None:
            raise _Syntax("expected an argument but the expression ended")
        kind, text = token
        if kind == "word" and self.pos + 1 < len(self.tokens) \
                and self.tokens[self.pos + 1] == ("punct", "("):
            return self.call()
        self.pos += 1
        if kind == "num":
            return int(text) if re.fullmatch(r"[-+]?\d+", text) else float(text)
        if kind == "str":
            return text[1:-1]
        if kind == "word":
            return {"true": True, "false": False, "null": None}.get(text.lower(), text)
        raise _Syntax(f"unexpected {text!r}")


def _number(value: Any, what: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Syntax(f"{what} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise _Syntax(f"{what} must be finite, got {value!r}")
    return value


def _interval(args: list[Any]) -> tuple[float, float]:
    if len(args) != 2:
        raise _Syntax(f"interval takes 2 bounds (a, b), got {len(args)}")
    low, high = (_number(a, "an interval bound") for a in args)
    if not low < high:
        raise _Syntax(f"empty interval: lower bound {low} must be below upper bound {high}")
    return float(low), float(high)


def _build(node: tuple[str, list[Any]], log: bool = False) -> tuple[BaseDistribution, tuple | None]:
    name, args = node
    if name == "interval":
        low, high = _interval(args)
        if log and low <= 0:
            raise _Syntax(f"a log interval needs a positive lower bound, got {low}")
        return FloatDistribution(low, high, log=log), None
    if name == "int":
        if len(args) != 1 or not isinstance(args[0], tuple) or args[0][0] != "interval":
            raise _Syntax("int(...) takes one interval(a, b)")
        low, high = _interval(args[0][1])
        if not (low.is_integer() and high.is_integer()):
            raise _Syntax(f"int(interval(a, b)) needs integer bounds, got {low}, {high}")
        if log and low <= 0:
            raise _Syntax(f"a log interval needs a positive lower bound, got {int(low)}")
        grid = None if log else tuple(range(int(low), int(high) + 1))
        return IntDistribution(int(low), int(high), log=log), grid
    if log:
        raise _Syntax(f"tag(log, ...) applies to interval or int(interval), not {name}(...)")
    if name == "tag":
        if len(args) != 2 or args[0] != "log" or not isinstance(args[1], tuple):
            raise _Syntax("tag takes the word log and one interval: tag(log, interval(a, b))")
        return _build(args[1], log=True)
    if name == "range":
        return _range(args)
    if name == "choice":
        if not args:
            raise _Syntax("choice needs at least one value")
        if any(isinstance(a, tuple) for a in args):
            raise _Syntax("choice values must be numbers, words or quoted strings")
        if len(set(map(repr, args))) != len(args):
            raise _Syntax(f"choice has repeated values: {args}")
        return CategoricalDistribution(args), tuple(args)
    raise _Syntax(f"unknown function {name!r}")


def _range(args: list[Any]) -> tuple[BaseDistribution, tuple]:
    if len(args) not in (2, 3):
        raise _Syntax(f"range takes (a, b) or (a, b, step), got {len(args)} arguments")
    start, stop = _number(args[0], "range start"), _number(args[1], "range end")
    step = _number(args[2], "range step") if len(args) == 3 else 1
    if step <= 0:
        raise _Syntax(f"range step must be positive, got {step}")
    count = math.ceil((stop - start) / step - 1e-9)
    if count <= 0:
        raise _Syntax(f"empty range: no value from {start} below {stop} in steps of {step}")
    if all(isinstance(v, int) for v in (start, stop, step)):
        values: tuple[Any, ...] = tuple(range(int(start), int(stop), int(step)))
        return IntDistribution(values[0], values[-1], step=int(step)), values
    values = tuple(round(float(start + i * step), 12) for i in range(count))
    return FloatDistribution(float(start), values[-1], step=float(step)), values


def parse_expression(key: str, expression: str) -> Param:
    """Parses one search-space expression.

    Args:
        key: the dotted training key the expression is for (named in errors).
        expression: e.g. ``tag(log, interval(1e-4, 1.0))``.

    Returns:
        The parsed parameter.

    Raises:
        ValueError: naming the key, the expression, what is wrong and the allowed forms.

    Example:
        >>> parse_expression("optimizer.lr", "tag(log, interval(1e-4, 1))").distribution
        FloatDistribution(high=1.0, log=True, low=0.0001, step=None)
    """
    if not isinstance(expression, str):
        raise ValueError(
            f"search space key {key!r}: expected an expression string, got {expression!r}; "
            f"allowed: {', '.join(ALLOWED_FORMS)}"
        )
    try:
        parser = _Parser(expression)
        node = parser.call()
        if parser.peek() is not None:
            raise _Syntax(f"unexpected {parser.peek()[1]!r} after the expression")  # type: ignore[index]
        distribution, grid = _build(node)
    except _Syntax as err:
        raise ValueError(
            f"search space key {key!r}: bad expression {expression!r}: {err}; "
            f"allowed: {', '.join(ALLOWED_FORMS)}"
        ) from None
    return Param(key, expression, distribution, grid)


def parse_space(params: Mapping[str, Any]) -> dict[str, Param]:
    """Parses a space's ``params`` mapping (dotted key -> expression).

    Args:
        params: the ``params`` node of a space file.

    Returns:
        The parameters by key, in file order.

    Raises:
        ValueError: on an empty space or any bad expression.
    """
    if not params:
        raise ValueError("the search space has no params; add 'params: {dotted.key: expr}'")
    return {str(key): parse_expression(str(key), expr) for key, expr in params.items()}
