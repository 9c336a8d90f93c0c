"""``sweep.train_fn``'s hooks: the study checks a space through the training function's own
``check_trials`` and continues a run through its ``resume_overrides``, and knows nothing of
the training beyond them."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from sweeper.config import compose_config
from sweeper.study.plan import make_plan
from sweeper.study.train_fn import load_train_fn, resume_overrides, trial_check
from tests.study import hooked_training


def _cfg(train_fn: str, space: dict[str, str]):
    cfg = compose_config(["sweep.sampler.name=random", f"sweep.train_fn={train_fn}"],
                         config_name="sweep")
    OmegaConf.set_struct(cfg, False)
    cfg.space.params = space
    OmegaConf.set_struct(cfg, True)
    return cfg


def test_the_projects_training_declares_both_hooks() -> None:
    train = load_train_fn("sweeper.ssl:train")
    assert trial_check(train) is not None
    assert resume_overrides(train) == {"auto_resume.enabled": True,
                                       "auto_resume.max_hours": None}


def test_a_training_without_hooks_is_run_as_it_is() -> None:
    train = load_train_fn("tests.study.broken_training:train")
    assert trial_check(train) is None and resume_overrides(train) == {}


def test_the_check_sees_the_first_values_then_each_end(tmp_path: Path) -> None:
    hooked_training.SEEN.clear()
    make_plan(_cfg("tests.study.hooked_training:train",
                   {"optimizer.lr": "interval(0.1, 0.5)", "seed": "choice(1, 2)"}),
              base=tmp_path)
    assert hooked_training.SEEN == [("", 0.1), (" at optimizer.lr=0.1", 0.1),
                                    (" at optimizer.lr=0.5", 0.5), (" at seed=1", 0.1),
                                    (" at seed=2", 0.1)]


def test_the_hooks_refusal_is_the_plans(tmp_path: Path) -> None:
    cfg = _cfg("tests.study.hooked_training:train", {"optimizer.lr": "interval(0.1, 0.9)"})
    with pytest.raises(ValueError, match=r"at optimizer.lr=0.9 fails: lr 0.9 refused"):
        make_plan(cfg, base=tmp_path)
    hooked_training.SEEN.clear()
    make_plan(cfg, base=tmp_path, check_trials=False)  # a preset whose data is elsewhere
    assert hooked_training.SEEN == []
