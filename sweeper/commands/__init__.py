"""The subcommands of ``rankme-sweeper``: one short module each, one Hydra runner for all.

:data:`SUBCOMMANDS` is the one table of them: each one's line in the usage, its main options
and, for a Hydra subcommand, the config it composes. The Hydra subcommands (train, sweep,
worker, status, compare) run through :func:`sweeper.commands.hydra_app.run_app`, which
imports the subcommand's module (its ``run(cfg) -> exit code``) only when Hydra runs it:
``--help``, ``--cfg job`` and a bad override do not pay for Lightning or the study. ``score``
parses its own line (its module's ``main(argv) -> exit code``). Exit codes: 0 done, 1 the
work did not finish (a diverged run, a study short of trials, a worker stopped by failures),
2 bad input (one ``error:`` line).

Three more modules are the entry points of processes the sweep starts, not subcommands:
``python -m sweeper.commands.worker_process`` (a local worker),
``python -m sweeper.commands.trial_rank`` (a follower rank of a local worker whose trials
train on several devices) and ``python -m sweeper.commands.storage_proxy`` (the storage
proxy).
"""

from dataclasses import dataclass

__all__ = ["SUBCOMMANDS", "Subcommand"]


@dataclass(frozen=True)
class Subcommand:
    """A subcommand: its line in the usage, its main options, and how it runs.

    Attributes:
        summary: its line in ``rankme-sweeper --help``.
        options: its main options.
        config: the primary config Hydra composes (``conf/<config>.yaml``); None for a
            subcommand that parses its own line.
        quiet: no run dir, log files or ``.hydra/`` (commands that only read).
        relaunch: ``sys.argv`` re-runs the command while it runs (``train``: Lightning's
            ``strategy=ddp`` starts each other rank with it).
    """

    summary: str
    options: str
    config: str | None = None
    quiet: bool = False
    relaunch: bool = False


# the sweep's own overrides, which name its study
_STUDY = "the sweep's overrides, e.g. sweep.study_name=NAME sweep.storage=URL"

SUBCOMMANDS: dict[str, Subcommand] = {
    "train": Subcommand(
        "one JE-SSL training run (Hydra overrides) -> run dir, metrics.json",
        "method=NAME backbone=NAME data=NAME optimizer=NAME max_epochs=N optimizer.lr=X "
        "seed=N accelerator=cpu|gpu hydra.run.dir=DIR", config="train", relaunch=True),
    "score": Subcommand(
        "label-free metrics of embeddings (.npy .npz .pt .safetensors)",
        "PATH [--json] | CKPT data=NAME [--save-features DIR]"),
    "sweep": Subcommand(
        "create or continue a study; run its workers until n_trials are done",
        "space=NAME experiment=NAME sweep.n_trials=N sweep.workers=N sweep.objective=METRIC "
        "sweep.storage=URL sweep.study_name=NAME launcher=local|slurm", config="sweep"),
    "worker": Subcommand("one worker pulling trials from an existing study (a Slurm job)",
                         _STUDY, config="sweep"),
    "status": Subcommand("table of the study's trials and its best trial", _STUDY,
                         config="sweep", quiet=True),
    "compare": Subcommand(
        "oracle evaluation + selection comparison -> report",
        "the sweep's overrides (sweep.study_name=NAME sweep.storage=URL) and "
        "compare.metrics=[...] compare.per_axis=true compare.output_dir=DIR", config="compare",
        quiet=True),
}
