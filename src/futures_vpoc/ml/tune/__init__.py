"""Hyper-parameter search for ``futures-vpoc tune`` on the validation period only (Optuna, lazily).

Modules
-------
:mod:`.space`   the default search space, a small table (flag, distribution, range).
:mod:`.trial`   a trial without the test period, the median pruning rule, the executor task.
:mod:`.study`   the ask-and-tell loop in batches over :func:`futures_vpoc.ml.executor.run_tasks`,
                the best trial, and its single evaluation on the test period.
:mod:`.report`  ``trials.csv``, ``tune.json``, ``best_command.txt``, ``tune.md``.

Nothing here imports optuna or torch at import time.
"""
