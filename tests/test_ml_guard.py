"""The NaN guard's decisions, its thresholds, and snapshots that restore exactly."""

import torch

from futures_vpoc.ml.guard import DIVERGED, OK, ROLLBACK, SKIP, GuardPolicy, NanGuard, Snapshot, tensors_finite
from futures_vpoc.ml.loss import AdaptiveHuberLoss
from futures_vpoc.ml.model import MLP


def test_skip_then_rollback_after_five_consecutive():
    g = NanGuard(GuardPolicy(nan_patience=5))
    g.begin_epoch()
    assert [g.observe(False) for _ in range(4)] == [SKIP] * 4
    assert g.observe(True) == OK  # a finite step resets the run
    assert [g.observe(False) for _ in range(4)] == [SKIP] * 4
    assert g.observe(False) == ROLLBACK
    assert g.rollbacks == 1 and g.lr_scale == 0.5
    assert g.epoch_bad == 0 and g.epoch_total == 0  # the rollback undid the burst


def test_one_burst_in_a_short_epoch_is_one_rollback():
    """Issue 14: 5 non-finite steps in an epoch of 12 rolled back twice (mid-epoch, then the 20% share)."""
    g = NanGuard(GuardPolicy(nan_patience=5, max_nan_share=0.2))
    g.begin_epoch()
    decisions = [g.observe(ok) for ok in [True, True] + [False] * 5 + [True] * 5]
    assert decisions.count(ROLLBACK) == 1
    assert g.end_epoch() == OK and g.rollbacks == 1 and g.lr_scale == 0.5


def test_epoch_share_rule_and_finite_weights_rule():
    g = NanGuard(GuardPolicy(nan_patience=100, max_nan_share=0.2))
    g.begin_epoch()
    for i in range(100):
        g.observe(i % 4 != 0)  # 25 % non-finite, never 2 in a row
    assert g.end_epoch() == ROLLBACK
    g.begin_epoch()
    for i in range(100):
        g.observe(i % 10 != 0)  # 10 %
    assert g.end_epoch() == OK
    assert g.end_epoch(weights_finite=False) == ROLLBACK
    assert g.rollbacks == 2 and g.lr_scale == 0.25


def test_diverged_after_the_allowed_rollbacks():
    g = NanGuard(GuardPolicy(nan_patience=1, max_rollbacks=3))
    g.begin_epoch()
    assert [g.observe(False) for _ in range(4)] == [ROLLBACK, ROLLBACK, ROLLBACK, DIVERGED]
    assert g.rollbacks == 3 and g.lr_scale == 0.125
    assert "consecutive" in g.last_reason


def test_guard_state_roundtrip():
    g = NanGuard()
    g.begin_epoch()
    for _ in range(5):
        g.observe(False)
    h = NanGuard()
    h.load_state_dict(g.state_dict())
    assert (h.rollbacks, h.lr_scale) == (1, 0.5)


def test_snapshot_restores_model_optimizer_and_loss_exactly():
    torch.manual_seed(0)
    model = MLP(4, (8,), 0.0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    loss = AdaptiveHuberLoss()
    x, y = torch.randn(32, 4), (torch.rand(32) < 0.5).float()
    loss(model(x), y).backward()
    opt.step()
    snap = Snapshot.capture(1, model, opt, loss)
    ref = {k: v.clone() for k, v in model.state_dict().items()}
    ref_delta = float(loss.delta)
    for _ in range(3):
        opt.zero_grad()
        loss(model(x) * float("nan"), y).backward()
        opt.step()
    assert not tensors_finite(model.state_dict())
    snap.restore(model, opt, loss)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in ref.items())
    assert float(loss.delta) == ref_delta
    assert opt.state_dict()["state"][0]["step"].item() == 1
    snap.restore(model, opt, loss)  # usable again
    assert tensors_finite(model.state_dict())
