"""Search spaces: every form of Hydra's sweep grammar as its Optuna distribution, and the
errors (Hydra's for syntax, ours for what Optuna needs)."""

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
        ("choice(null, batch)", CategoricalDistribution([None, "batch"]), (None, "batch")),
        ("choice(null)", CategoricalDistribution([None]), (None,)),
        ("choice('null', 'true', '1')", CategoricalDistribution(["null", "true", "1"]),
         ("null", "true", "1")),
        ("choice(a.b, a/b, a-b, 1e3)", CategoricalDistribution(["a.b", "a/b", "a-b", 1000.0]),
         ("a.b", "a/b", "a-b", 1000.0)),
        ("32, 64, null", CategoricalDistribution([32, 64, None]), (32, 64, None)),  # short form
        ("int(interval(-2, 1))", IntDistribution(-2, 1), (-2, -1, 0, 1)),
        ("int(interval(1.5, 3))", IntDistribution(1, 3), (1, 2, 3)),  # Hydra's int() truncates
        ("range(1, 4, 0.5)", FloatDistribution(1.0, 3.5, step=0.5),
         (1.0, 1.5, 2.0, 2.5, 3.0, 3.5)),
        ("range(3)", IntDistribution(0, 2), (0, 1, 2)),
        ("sort(choice(3, 1, 2))", CategoricalDistribution([1, 2, 3]), (1, 2, 3)),
        ("tag(log, tag(log, interval(1, 2)))", FloatDistribution(1.0, 2.0, log=True), None),
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
        # what Optuna needs, checked here
        ("interval(1, 1)", "empty interval"),
        ("interval(2, 1)", "empty interval"),
        ("interval(1, inf)", "an interval bound must be finite"),
        ("range(5, 1)", "empty range"),
        ("range(1, 1, 1)", "empty range"),
        ("range(1, 5, 0)", "step must be positive"),
        ("range(1, 5, -1)", "step must be positive"),
        ("sort(range(1, 5), reverse=true)", "step must be positive"),
        ("range(1, 2, 5)", "range step 5 is larger than the range from 1 to 2"),
        ("range(0.1, 0.2, 0.5)", "larger than the range"),
        ("choice()", "at least one value"),
        ("choice( )", "at least one value"),
        ("choice(1, 1)", "repeated values"),
        ("choice(1, 1.0)", "repeated values"),
        ("choice(1, true)", "repeated values"),
        ("choice(null, null)", "repeated values"),
        ("choice(nan, 1)", "choice values must be finite"),
        ("choice([1, 2], [3])", "must be numbers, words, quoted strings or null, got [1, 2]"),
        ("choice(choice(1, 2))", "got a nested ChoiceSweep"),
        ("choice(interval(1, 2))", "got a nested IntervalSweep"),
        ("tag(log, interval(0, 1))", "positive lower bound, got 0"),
        ("tag(log, interval(-1, 1))", "positive lower bound, got -1"),
        ("tag(log, int(interval(0, 5)))", "positive lower bound, got 0"),
        ("tag(log, choice(1, 2))", "applies to interval or int(interval), not choice"),
        ("tag(log, range(1, 10))", "applies to interval or int(interval), not range"),
        ("tag(linear, interval(1, 2))", "tag takes the word log"),
        ("shuffle(choice(1, 2))", "shuffle(...) has no meaning"),
        ("0.5", "0.5 is a fixed value, not a search expression"),
        ("", "'' is a fixed value"),
        ("1 + 1", "'1 + 1' is a fixed value"),
        ("[1, 2]", "[1, 2] is a fixed value"),
        ("glob(*)", "is a fixed value"),
        # the grammar, checked by Hydra's parser (its message, first line)
        ("interval(1,", "no viable alternative at input 'interval(1,'"),
        ("interval(1, 2", "no viable alternative"),
        ("interval(1, 2))", "extraneous input ')'"),
        ("interval(1, 2) x", "mismatched input"),
        ("interval(a, 2)", "mismatch type argument start: str is incompatible"),
        ("interval(1, 2, 3)", "too many positional arguments"),
        ("choice(x=1)", "mismatched input '='"),
        ("tag(log, choice(1, null))", "NoneType is incompatible"),
        ("uniform(0, 1)", "Unknown function 'uniform'"),
        ('__import__("os")', "Unknown function '__import__'"),
        ("interval(1; 2)", "token recognition error at: ';'"),
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
