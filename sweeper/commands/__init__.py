"""The subcommands of ``rankme-sweeper``: one short module each, one Hydra runner for all.

Each module has ``SUMMARY`` (its line in the usage), ``OPTIONS`` (its main options) and
``main(argv) -> exit code``. The Hydra subcommands (train, sweep, worker, status, compare)
run through :func:`sweeper.commands.hydra_app.run_app`; ``score`` parses its own line. Exit codes: 0
done, 1 the work did not finish (a diverged run, a study short of trials, a worker stopped
by failures), 2 bad input (one ``error:`` line).
"""

SUBCOMMANDS = ("train", "score", "sweep", "worker", "status", "compare")

__all__ = ["SUBCOMMANDS"]
