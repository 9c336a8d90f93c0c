"""The search-space parser on every expression form, and its errors."""

from __future__ import annotations

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from sweeper.study.space import parse_expression, parse_space


@pytest.mark.parametrize(
    ("expression", "distribution", "grid"),
    [
        ("interval(0.1, 1)", FloatDistribution(0.1, 1.0), None),
        ("interval(-1.5, 2.5e1)", FloatDistribution(-1.5, 25.0), None),
        ("int(interval(1, 4))", IntDistribution(1, 4), (1, 2, 3, 4)),
        ("tag(log, interval(1e-4, 1.0))", FloatDistribution(1e-4, 1.0, log=True), None),
        ("tag(log, int(interval(8, 512)))", IntDistribution(8, 512, log=True), None),
        ("range(64, 257, 64)", IntDistribution(64, 256, step=64), (64, 128, 192, 256)),
        ("range(1, 4)", IntDistribution(1, 3), (1, 2, 3)),
        ("range(0.1, 0.5, 0.1)", FloatDistribution(0.1, 0.4, step=0.1), (0.1, 0.2, 0.3, 0.4)),
        ("  choice( sgd , 'lars x', \"adamw\" ) ",
         CategoricalDistribution(["sgd", "lars x", "adamw"]), ("sgd", "lars x", "adamw")),
        ("choice(16, 0.5, true, null)", CategoricalDistribution([16, 0.5, True, None]),
         (16, 0.5, True, None)),
    ],
)
def test_every_form_parses_to_its_distribution(expression, distribution, grid):
    param = parse_expression("a.key", expression)
    assert param.distribution == distribution
    assert param.grid == grid
    assert param.key == "a.key" and param.expression == expression


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("interval(1, 1)", "empty interval"),
        ("interval(2, 1)", "empty interval"),
        ("range(5, 1)", "empty range"),
        ("range(1, 1, 1)", "empty range"),
        ("range(1, 5, 0)", "step must be positive"),
        ("range(1, 5, -1)", "step must be positive"),
        ("choice()", "at least one value"),
        ("choice(1, 1)", "repeated values"),
        ("interval(1,", "expression ended"),
        ("interval(1, 2", "expression ended"),
        ("interval(1, 2))", "after the expression"),
        ("interval(1, 2) x", "after the expression"),
        ("interval(a, 2)", "must be a number"),
        ("interval(1, 2, 3)", "takes 2 bounds"),
        ("int(1, 2)", "takes one interval"),
        ("int(interval(1.5, 3))", "integer bounds"),
        ("tag(log, interval(0, 1))", "positive lower bound"),
        ("tag(log, choice(1, 2))", "applies to interval"),
        ("tag(linear, interval(1, 2))", "tag takes the word log"),
        ("uniform(0, 1)", "unknown function 'uniform'"),
        ('__import__("os")', "unknown function '__import__'"),
        ("1 + 1", "unexpected character '+'"),
        ("0.5", "expected a function name"),
        ("", "expected a function name"),
        ("interval(1; 2)", "unexpected character ';'"),
    ],
)
def test_bad_expressions_name_key_expression_and_allowed_forms(expression, message):
    with pytest.raises(ValueError) as info:
        parse_expression("optimizer.lr", expression)
    text = str(info.value)
    assert message in text
    assert "'optimizer.lr'" in text and repr(expression) in text
    assert "allowed: interval(a, b)" in text


def test_non_string_expression_is_rejected():
    with pytest.raises(ValueError, match="expected an expression string, got 0.1"):
        parse_expression("optimizer.lr", 0.1)  # type: ignore[arg-type]


def test_parse_space_keeps_order_and_rejects_empty():
    space = parse_space({"b.x": "interval(0, 1)", "a.y": "choice(1, 2)"})
    assert list(space) == ["b.x", "a.y"]
    with pytest.raises(ValueError, match="no params"):
        parse_space({})
