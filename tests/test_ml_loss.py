"""Losses take logits (one sigmoid); the adaptive Huber loss is a real Huber with an active delta."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from futures_vpoc.ml.loss import AdaptiveHuberLoss, AdaptiveLogLoss, LogLoss, MSELoss, make_loss, yardstick


def test_log_loss_applies_exactly_one_sigmoid():
    """Prior defect (item 35): a sigmoid on top of a sigmoid. Here the loss of logit z is -log sigma(z)."""
    z = torch.tensor([-3.0, 0.0, 2.0])
    y = torch.tensor([0.0, 1.0, 1.0])
    expected = -(y * torch.log(torch.sigmoid(z)) + (1 - y) * torch.log(1 - torch.sigmoid(z))).mean()
    assert LogLoss()(z, y).item() == pytest.approx(expected.item(), rel=1e-6)
    # a constant logit of 0 gives log 2, not the doubly squashed value of the prior system
    assert LogLoss()(torch.zeros(4), torch.tensor([0.0, 1.0, 0.0, 1.0])).item() == pytest.approx(math.log(2))


def test_make_loss_choices():
    assert isinstance(make_loss("direction", False), LogLoss)
    assert isinstance(make_loss("rank", False), MSELoss)
    assert make_loss("direction", True).link == "sigmoid"
    assert make_loss("rank", True).link == "identity"


def huber(r, d):
    a = np.abs(r)
    return np.where(a <= d, 0.5 * a * a, d * (a - 0.5 * d))


def test_adaptive_huber_is_a_real_huber_with_an_active_delta():
    """Prior defect (item 37): delta_eff >= 1 >= |r| made the "adaptive Huber" exactly 0.5 * MSE."""
    torch.manual_seed(0)
    loss = AdaptiveHuberLoss("sigmoid", quantile=0.9, momentum=0.0)
    z = torch.randn(4096) * 2
    y = (torch.rand(4096) < 0.5).float()
    value = loss(z, y).item()  # the first batch is scored with its own quantile
    r = (torch.sigmoid(z) - y).double().numpy()
    d = float(loss.delta)
    assert d == pytest.approx(np.sort(np.abs(r))[math.ceil(0.9 * 4096) - 1], rel=1e-5)
    linear_share = float((np.abs(r) > d).mean())
    assert 0.08 < linear_share < 0.12  # about 10 % of the rows use the linear branch
    assert value == pytest.approx(huber(r, d).mean(), rel=1e-5)
    # Huber = 0.5 r^2 - 0.5 (|r| - delta)^2 beyond delta: the correction is there, so it is not 0.5 * MSE
    correction = 0.5 * np.mean(np.maximum(np.abs(r) - d, 0.0) ** 2)
    assert correction > 0
    assert value == pytest.approx(0.5 * np.mean(r ** 2) - correction, rel=1e-5)


def test_rows_beyond_delta_pull_with_a_bounded_force():
    loss = AdaptiveHuberLoss("identity", momentum=0.0)
    small = [0.1, -0.2, 0.3, 0.05, 0.2, -0.1, 0.15, 0.25, -0.3, 0.12, 0.08, -0.05, 0.22, -0.18, 0.03, 0.27, -0.09, 0.11]
    r = torch.tensor(small + [5.0, -8.0], requires_grad=True)
    loss(r, torch.zeros(20)).backward()
    d = float(loss.delta)
    assert 0.3 < d < 5.0
    grad = r.grad * 20  # per-row derivative of rho (the loss is a mean over 20 rows)
    inside = r.detach().abs() <= d
    torch.testing.assert_close(grad[inside], r.detach()[inside])
    torch.testing.assert_close(grad[~inside], d * torch.sign(r.detach()[~inside]))


def test_delta_follows_a_running_quantile_and_freezes_in_evaluation():
    torch.manual_seed(1)
    loss = AdaptiveHuberLoss("identity", quantile=0.9, momentum=0.9)
    for _ in range(200):
        loss(torch.randn(256) * 2.0, torch.zeros(256))
    loss.commit(float(loss.pending))
    # |N(0, 2^2)| has its 90 % quantile at 2 * 1.6449
    assert loss.delta == pytest.approx(2 * 1.6449, rel=0.05)
    before = loss.delta
    loss(torch.randn(256) * 100.0, torch.zeros(256), update=False)
    assert loss.delta == before and loss.pending is None
    loss(torch.randn(256) * 0.1, torch.zeros(256))
    loss.commit(float(loss.pending))
    assert loss.delta < before  # adapts downward too


def test_residual_is_computed_stably_from_extreme_logits():
    loss = AdaptiveHuberLoss("sigmoid", momentum=0.0)
    z = torch.tensor([-1e4, -50.0, -20.0, 0.0, 20.0, 50.0, 1e4], requires_grad=True)
    y = torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    r = loss.residual(z, y)
    expected = (torch.sigmoid(z.detach().double()) - y.double()).float()
    torch.testing.assert_close(r.detach(), expected, atol=1e-7, rtol=1e-6)
    assert r.abs().max() <= 1.0
    value = loss(z, y)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(z.grad).all()


def test_delta_waits_for_the_trainers_sync_and_scores_the_next_batch():
    loss = AdaptiveHuberLoss("identity", momentum=0.5)
    first = loss(torch.tensor([1.0, 2.0, 3.0, 4.0]), torch.zeros(4))  # first batch: delta = its own quantile
    loss.commit(float(loss.pending))  # idempotent for the first batch
    assert loss.initialized and loss.delta == 4.0  # nearest rank: ceil(0.9 * 4) = 4th smallest
    assert first.item() == pytest.approx(np.mean([0.5, 2.0, 4.5, 8.0]))
    loss(torch.tensor([0.1, 0.2]), torch.zeros(2))  # scored with delta 4; its quantile 0.2 is pending
    assert loss.delta == 4.0 and float(loss.pending) == pytest.approx(0.2)
    loss.commit(float(loss.pending))
    assert loss.delta == pytest.approx(0.5 * 4.0 + 0.5 * 0.2) and loss.pending is None


@pytest.mark.parametrize("make", [lambda: AdaptiveHuberLoss("sigmoid", momentum=0.5),
                                  lambda: AdaptiveLogLoss(momentum=0.5)], ids=["huber", "adaptive_log_loss"])
def test_a_nan_batch_does_not_poison_delta(make):
    loss = make()
    loss(torch.randn(64), (torch.rand(64) < 0.5).float())
    loss.commit(float(loss.pending))
    before = loss.delta
    out = loss(torch.full((64,), float("nan")), torch.ones(64))
    assert math.isnan(out.item())
    loss.commit(float(loss.pending))
    assert loss.delta == before


def test_delta_is_saved_with_the_state_dict():
    loss = AdaptiveHuberLoss("sigmoid", momentum=0.0)
    loss(torch.randn(128), (torch.rand(128) < 0.5).float())
    other = AdaptiveHuberLoss("sigmoid")
    other.load_state_dict(loss.state_dict())
    assert other.delta == loss.delta and other.initialized


def test_yardstick_sums_log_loss_and_squared_error():
    z = torch.tensor([0.5, -1.0, 2.0])
    y = torch.tensor([1.0, 0.0, 0.0])
    assert yardstick(z, y, "direction").item() == pytest.approx(
        F.binary_cross_entropy_with_logits(z.double(), y.double(), reduction="sum").item())
    assert yardstick(z, y, "rank").item() == pytest.approx(0.25 + 1.0 + 4.0)
