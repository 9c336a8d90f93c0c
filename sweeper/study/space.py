"""Search spaces: Hydra's sweep grammar, parsed by Hydra's override parser, as Optuna
distributions.

A space file (``conf/space/<name>.yaml``) maps dotted training keys to expressions::

    params:
      optimizer.lr: tag(log, interval(1e-4, 1.0))
      method_kwargs.temperature: interval(0.05, 0.5)
      method_kwargs.proj_output_dim: choice(32, 64, 128)
      optimizer.batch_size: range(64, 257, 64)   # 64, 128, 192, 256 (end exclusive)

Each expression is parsed by ``hydra.core.override_parser`` (the grammar of ``key=...`` on
Hydra's command line, never ``eval``) and mapped as follows:

- ``interval(a, b)``: floats in ``[a, b]``;
- ``int(interval(a, b))``: integers in ``[a, b]`` (Hydra's ``int`` cast truncates a float
  bound: ``int(interval(1.5, 3))`` is ``[1, 3]``);
- ``tag(log, interval(a, b))`` and ``tag(log, int(interval(a, b)))``: log-uniform;
- ``range(a, b)`` and ``range(a, b, step)``: ``a, a+step, ...`` below ``b`` (Hydra's and
  Python's exclusive end); integers when all three are integers, floats otherwise;
- ``choice(v1, v2, ...)`` (or Hydra's short form ``v1, v2, ...``): numbers,
  ``true``/``false``, ``null``, bare words or quoted strings.

On top of the grammar this module checks what Optuna needs: a non-empty interval with finite
bounds, a positive lower bound under ``log``, a positive step no larger than the range, and
distinct choice values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import (
    ChoiceSweep,
    IntervalSweep,
    QuotedString,
    RangeSweep,
    Sweep,
)
from hydra.errors import HydraException
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

_PARSER = OverridesParser.create()
# Hydra's choice() function refuses null (its type hints leave out None) while its short form
# `a, b, null` takes it: a top-level choice(...) is parsed in the short form.
_CHOICE = re.compile(r"choice\s*\((?P<inner>.*)\)", re.DOTALL)
# "TypeError while evaluating 'interval(a, 2)': mismatch ..." -> "mismatch ..."
_EVALUATING = re.compile(r"^\w+ while evaluating '.*?': ")


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


class _Invalid(ValueError):
    pass


def _hydra(text: str) -> Any:
    """The value Hydra's override parser gives ``key=<text>``."""
    try:
        return _PARSER.parse_override(f"key={text}").value()
    except HydraException as err:
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise _Invalid(_EVALUATING.sub("", detail)) from None


def _parse(expression: str) -> Any:
    text = expression.strip()
    match = _CHOICE.fullmatch(text)
    if match is None:
        return _hydra(text)
    inner = match["inner"].strip()
    if not inner:
        raise _Invalid("choice needs at least one value")
    value = _hydra(inner)
    if isinstance(value, ChoiceSweep) and value.simple_form:
        return ChoiceSweep(list=list(value.list))
    return ChoiceSweep(list=[value])  # one value, or a sweep that _choice rejects


def _number(value: Any, what: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(f"{what} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise _Invalid(f"{what} must be finite, got {value!r}")
    return value


def _interval(sweep: IntervalSweep, log: bool) -> tuple[BaseDistribution, tuple | None]:
    low = _number(sweep.start, "an interval bound")
    high = _number(sweep.end, "an interval bound")
    if not low < high:
        raise _Invalid(f"empty interval: lower bound {low} must be below upper bound {high}")
    if log and low <= 0:
        raise _Invalid(f"a log interval needs a positive lower bound, got {low}")
    if isinstance(low, int) and isinstance(high, int):  # int(interval(...))
        grid = None if log else tuple(range(low, high + 1))
        return IntDistribution(low, high, log=log), grid
    return FloatDistribution(float(low), float(high), log=log), None


def _range(sweep: RangeSweep) -> tuple[BaseDistribution, tuple]:
    start = _number(sweep.start, "range start")
    stop = _number(sweep.stop, "range end")
    step = _number(sweep.step, "range step")
    if step <= 0:
        raise _Invalid(f"range step must be positive, got {step}")
    count = math.ceil((stop - start) / step - 1e-9)
    if count <= 0:
        raise _Invalid(f"empty range: no value from {start} below {stop} in steps of {step}")
    if step > stop - start:
        raise _Invalid(f"range step {step} is larger than the range from {start} to {stop}: "
                       f"it holds the one value {start}; use choice({start}) or a smaller step")
    if all(isinstance(v, int) for v in (start, stop, step)):
        values: tuple[Any, ...] = tuple(range(int(start), int(stop), int(step)))
        return IntDistribution(values[0], values[-1], step=int(step)), values
    values = tuple(round(float(start + i * step), 12) for i in range(count))
    return FloatDistribution(float(start), values[-1], step=float(step)), values


def _choice(sweep: ChoiceSweep) -> tuple[BaseDistribution, tuple]:
    values: list[Scalar] = []
    for value in (v.text if isinstance(v, QuotedString) else v for v in sweep.list):
        if value is not None and not isinstance(value, bool | int | float | str):
            what = f"a nested {type(value).__name__}" if isinstance(value, Sweep) else repr(value)
            raise _Invalid(f"choice values must be numbers, words, quoted strings or null, "
                           f"got {what}")
        if isinstance(value, float) and not math.isfinite(value):
            raise _Invalid(f"choice values must be finite, got {value!r}")
        values.append(value)
    if not values:
        raise _Invalid("choice needs at least one value")
    # Optuna finds a choice by ==, so 1, 1.0 and true are one value to it
    if any(a == b for i, a in enumerate(values) for b in values[:i]):
        raise _Invalid(f"choice has repeated values (1, 1.0 and true count as one): {values}")
    return CategoricalDistribution(values), tuple(values)


def _build(value: Any) -> tuple[BaseDistribution, tuple | None]:
    if not isinstance(value, Sweep):
        raise _Invalid(f"{value!r} is a fixed value, not a search expression; set fixed values "
                       "in the training config")
    tags = set(getattr(value, "tags", set()))
    if tags - {"log"}:
        raise _Invalid(f"tag takes the word log (the only tag here), got {sorted(tags - {'log'})}")
    log = "log" in tags
    if isinstance(value, IntervalSweep):
        return _interval(value, log)
    name = {RangeSweep: "range", ChoiceSweep: "choice"}.get(type(value), type(value).__name__)
    if log:
        raise _Invalid(f"tag(log, ...) applies to interval or int(interval), not {name}(...)")
    if getattr(value, "shuffle", False):
        raise _Invalid("shuffle(...) has no meaning in a search space; drop it")
    if isinstance(value, RangeSweep):
        return _range(value)
    if isinstance(value, ChoiceSweep):
        return _choice(value)
    raise _Invalid(f"{name} is not a search expression")


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
        >>> parse_expression("method_kwargs.norm", "choice(batch, null)").grid
        ('batch', None)
    """
    if not isinstance(expression, str):
        raise ValueError(
            f"search space key {key!r}: expected an expression string, got {expression!r}; "
            f"allowed: {', '.join(ALLOWED_FORMS)}"
        )
    try:
        distribution, grid = _build(_parse(expression))
    except _Invalid as err:
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
