"""``futures-vpoc replay``: a frozen model fed one bar at a time, as a live feed would feed it.

Each member of the model keeps a :class:`futures_vpoc.features.live.LiveFeatures` (rolling
streams, the developing profile, VIX as of publication), built with the run's frozen feature
context. When a bar closes it is pushed, its feature row taken in the run's input order, scaled
by the run's scaler and put through the network (float64, :meth:`Member.forward`), and the
prediction is emitted at once. Nothing about a later bar exists when a bar's prediction is made,
so ``replay`` equal to ``predict`` on the same file (tests/test_replay.py, to 1e-9) proves once
more that no feature looks ahead.

Labels are outcomes: they are attached after the last bar, from the file, exactly as ``predict``
attaches them, so both outputs have the same columns and ``evaluate`` takes either.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from futures_vpoc.errors import UsageError
from futures_vpoc.ml.bundle import Bundle
from futures_vpoc.ml.predict import PredictionTable, _facts, _frame, _notes, check_fit, decisions, plan_rows, to_prob


NOT_LIVE_GROUPS = ("orderflow",)
"""Feature groups the live engine has no step for (their inputs are not in a bar stream)."""


def refuse_not_live(bundle: Bundle) -> None:
    """Refuse, in one line, a model whose inputs include a group the live engine lacks (``orderflow``).

    Raises
    ------
    UsageError
        Naming the group and pointing to ``futures-vpoc predict``, which builds it.
    """
    for m in bundle.members:
        groups = set(m.inference.get("groups") or ()) | {n.split("_", 1)[0] for n in m.feature_names}
        found = [g for g in NOT_LIVE_GROUPS if g in groups]
        if found:
            raise UsageError(f"replay: the model {bundle.path} uses the {found[0]} feature group and the live "
                             f"engine has no order-flow group; use `futures-vpoc predict` on the same bars")


class LiveModel:
    """A bundle's members with their live feature engines: :meth:`push` one bar, get P(up).

    Parameters
    ----------
    bundle : Bundle
    """

    def __init__(self, bundle: Bundle) -> None:
        from futures_vpoc.features.common import Context
        from futures_vpoc.features.live import LiveFeatures

        refuse_not_live(bundle)
        self.bundle = bundle
        self.engines, self.columns = [], []
        for m in bundle.members:
            engine = LiveFeatures(list(m.inference["groups"]), Context.from_dict(m.inference["context"]))
            where = {n: i for i, n in enumerate(engine.names)}
            self.engines.append(engine)
            self.columns.append(np.array([where[n] for n in m.feature_names], dtype=np.int64))

    def push(self, bar, predict: bool = True) -> tuple[float, np.ndarray, np.ndarray]:
        """Advance every member by one closed bar.

        Parameters
        ----------
        bar : namedtuple or mapping
            One bar (:meth:`futures_vpoc.features.live.LiveFeatures.push`'s format).
        predict : bool
            False: only advance the state (a warm-up bar before ``--start``).

        Returns
        -------
        (float, numpy.ndarray, numpy.ndarray)
            The mixed P(up) (NaN when a member has no complete feature row), each member's P(up)
            and raw output (NaN likewise), shape (k,).
        """
        k = len(self.engines)
        probs, raws = np.full(k, np.nan), np.full(k, np.nan)
        for j, (engine, cols, member) in enumerate(zip(self.engines, self.columns, self.bundle.members)):
            row = engine.push(bar)[cols]
            if predict and np.isfinite(row).all():
                z = member.forward(member.scale(row[None, :]))
                raws[j], probs[j] = z[0], to_prob(z, member.binary)[0]
        if k == 1:
            return probs[0], probs, raws
        prob = float(probs @ self.bundle.weights) if np.isfinite(probs).all() else np.nan
        return prob, probs, raws


def replay_bars(bundle: Bundle, bars: pd.DataFrame, *, start=None, allow_overlap: bool = False,
                source: str = "--data", on_prediction: Callable | None = None,
                latencies: list | None = None) -> PredictionTable:
    """Feed ``bars`` one at a time through ``bundle`` and collect each prediction as it is made.

    Parameters
    ----------
    bundle, bars, start, allow_overlap, source
        As :func:`futures_vpoc.ml.predict.predict_bars` (the same checks, the same refusals).
    on_prediction : callable, optional
        ``on_prediction(timestamp, contract, prob, decision)``, called as each bar from ``start``
        on closes (a live feed's consumer).
    latencies : list, optional
        Receives each pushed bar's processing time, seconds (features + network), in bar order.

    Returns
    -------
    PredictionTable
        The same columns and facts as ``predict``'s.
    """
    refuse_not_live(bundle)
    check_fit(bundle, bars, source)
    out, in_training, overlap = plan_rows(bundle, bars, start, allow_overlap, source)
    live = LiveModel(bundle)
    n, k = len(bars), len(bundle.members)
    prob, P, Z = np.full(n, np.nan), np.full((n, k), np.nan), np.full((n, k), np.nan)
    clock = time.perf_counter
    for i, bar in enumerate(bars.itertuples()):
        t0 = clock()
        prob[i], P[i], Z[i] = live.push(bar, bool(out[i]))
        if latencies is not None:
            latencies.append(clock() - t0)
        if on_prediction is not None and out[i]:
            on_prediction(bar.Index, bar.contract, prob[i], int(decisions(prob[i:i + 1], bundle.threshold)[0]))
    frame = _frame(bundle, bars, prob, list(Z.T), P, in_training)
    return PredictionTable(frame.loc[out].reset_index(drop=True), _facts(bundle, start, overlap.any()),
                           _notes(bundle, prob[out], overlap))


__all__ = ["LiveModel", "NOT_LIVE_GROUPS", "refuse_not_live", "replay_bars"]
