"""Range checks of method hyperparameters, raised by the constructor that receives them
(lightly's habit): one line naming the ``method_kwargs`` key, its value and what is allowed.

The pre-study check builds the model at each end of every searched range
(:func:`sweeper.ssl.precheck.check_trials`), so a range that reaches a bad value is refused
before the study exists, not in a trial.
"""

from __future__ import annotations

import math

import torch

__all__ = ["EXP_FLOAT32_MIN_TEMPERATURE", "at_least", "exp_temperature", "fraction",
           "non_negative", "positive"]

# exp(s / T) of a cosine similarity s <= 1 is finite in float32 while 1 / T <= ln(max float32)
# = 88.72: T above 1 / 88.72 = 0.01127 (the losses run in float32, see base.full_precision).
EXP_FLOAT32_MIN_TEMPERATURE = 1.0 / math.log(torch.finfo(torch.float32).max)


def _bad(key: str, value: object, allowed: str) -> ValueError:
    return ValueError(f"method_kwargs.{key}={value!r}: must be {allowed}")


def _number(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(key, value, "a number")
    return float(value)


def positive(key: str, value: float) -> None:
    """``value > 0`` (a temperature, an epsilon)."""
    if not _number(key, value) > 0:
        raise _bad(key, value, "> 0")


def non_negative(key: str, value: float) -> None:
    """``value >= 0`` (a loss weight)."""
    if not _number(key, value) >= 0:
        raise _bad(key, value, ">= 0")


def fraction(key: str, value: float, *, upper_open: bool = False) -> None:
    """``0 <= value <= 1`` (``< 1`` with ``upper_open``): a ratio, a momentum."""
    v = _number(key, value)
    if not (0 <= v < 1 if upper_open else 0 <= v <= 1):
        raise _bad(key, value, "in [0, 1)" if upper_open else "in [0, 1]")


def at_least(key: str, value: int, low: int) -> None:
    """An integer ``value >= low`` (a size, a count of iterations)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _bad(key, value, f"an integer >= {low}")


def exp_temperature(key: str, value: float) -> None:
    """A temperature ``T`` of a loss that takes ``exp(s / T)`` of cosine similarities
    ``s <= 1`` itself (no log-sum-exp shift): ``T > 1 / ln(max float32)``, else the largest
    term is inf in float32 and the loss NaN. (With all ``M`` embeddings of a batch equal the
    sum of ``M - 1`` terms overflows a little earlier, below ``1 / (88.72 - ln(M - 1))``,
    0.0121 for 512 rows; a collapsed run is caught as diverged then.)"""
    if not _number(key, value) > EXP_FLOAT32_MIN_TEMPERATURE:
        raise _bad(key, value, f"> {EXP_FLOAT32_MIN_TEMPERATURE:.5f} (exp(1/T) overflows "
                               "float32 below 1/ln(max float32))")
