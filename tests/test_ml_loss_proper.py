"""``--adaptive_loss`` on a 0/1 target keeps the probability unbiased and still bounds an outlier row.

:class:`AdaptiveLogLoss` is log-loss whose rows pull with the label-free Huber weight
``min(1, delta / |z|)``: (a) its population minimiser is the true probability, where the seed's
Huber loss on the probability residual is biased towards the common class; (b) a row with an
extreme logit pulls on the weights with a bounded force, where log-loss's pull grows without
bound; (c) the trainer's hooks (``pending``/``commit``, ``huber_delta``, the state dict) still work.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from futures_vpoc.ml.loss import AdaptiveHuberLoss, AdaptiveLogLoss, LogLoss, make_loss
from futures_vpoc.ml.model import MLP


def bernoulli(p: float, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, generator=g) < p).float()


def fit_group_logits(crit, groups: torch.Tensor, y: torch.Tensor, steps: int = 300) -> torch.Tensor:
    """Minimise ``crit`` over one free logit per group (a constant logit when there is one group).

    Full-batch Adam (short memory, learning rate cut tenfold twice) with the loss's adaptive
    ``delta`` committed after every step, as the trainer does. Returns each group's fitted probability.
    """
    theta = torch.zeros(int(groups.max()) + 1, requires_grad=True)
    opt = torch.optim.Adam([theta], lr=0.1, betas=(0.5, 0.9))
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [steps // 3, 2 * steps // 3], gamma=0.1)
    for _ in range(steps):
        opt.zero_grad()
        crit(theta[groups], y).backward()
        opt.step()
        sched.step()
        if getattr(crit, "pending", None) is not None:
            crit.commit(float(crit.pending))
    return torch.sigmoid(theta.detach())


def test_the_value_is_the_log_loss_and_the_gradient_carries_label_free_huber_weights():
    torch.manual_seed(0)
    loss = AdaptiveLogLoss(momentum=0.0)
    z0 = torch.randn(512) * 3
    loss(z0, bernoulli(0.4, 512, 1))  # sets delta to the 90% quantile of |z0|
    delta = loss.delta
    assert delta == pytest.approx(float(z0.abs().kthvalue(math.ceil(0.9 * 512)).values))
    w = torch.clamp(delta / z0.abs(), max=1.0)
    assert 0.08 < float((w < 1).float().mean()) < 0.12  # about 10% of the rows are down-weighted
    grads = {}
    for label in (0.0, 1.0):
        z = z0.clone().requires_grad_(True)
        y = torch.full((512,), label)
        value = loss(z, y, update=False)
        assert value.item() == pytest.approx(F.binary_cross_entropy_with_logits(z0, y).item(), rel=1e-6)
        value.backward()
        grads[label] = z.grad * 512  # per-row derivative (the loss is a mean)
        torch.testing.assert_close(grads[label], w * (torch.sigmoid(z0) - label))
    # the weight does not depend on the label: g(z, 0) / (g(z, 0) - g(z, 1)) = sigma(z) for every row
    torch.testing.assert_close(grads[0.0] / (grads[0.0] - grads[1.0]), torch.sigmoid(z0))


@pytest.mark.parametrize("p", [0.03, 0.2, 0.97])
def test_population_minimiser_over_a_constant_logit_is_the_true_probability(p):
    """(a) y ~ Bernoulli(p): the fitted constant probability is the sample frequency (hence p within
    sampling error); the seed's Huber loss on sigma(z) - y misses it when p < 1 - quantile or
    p > quantile (its delta, the 90% quantile of |r|, is then the common class's residual, and the rare
    class's rows are clipped)."""
    n = 2000
    y = bernoulli(p, n, seed=int(100 * p))
    freq = float(y.mean())
    groups = torch.zeros(n, dtype=torch.long)
    fitted = float(fit_group_logits(AdaptiveLogLoss(momentum=0.9), groups, y)[0])
    assert math.log(fitted / (1 - fitted)) == pytest.approx(math.log(freq / (1 - freq)), abs=2e-3)
    assert abs(fitted - p) < 4 * math.sqrt(p * (1 - p) / n)
    assert float(fit_group_logits(LogLoss(), groups, y)[0]) == pytest.approx(fitted, abs=1e-4)
    old = float(fit_group_logits(AdaptiveHuberLoss("sigmoid", momentum=0.9), groups, y)[0])
    if min(p, 1 - p) < 0.1:
        assert abs(old - freq) > 0.2 * min(freq, 1 - freq)  # off by a fifth of the rare class's share
        assert (old < freq) == (p < 0.5)  # towards the common class
    else:
        assert old == pytest.approx(freq, abs=1e-3)  # with one logit its delta clips nobody here


def test_rows_with_down_weighted_logits_still_get_their_true_probability():
    """(a) with a model that gives groups different logits: the rare-up group (3% up, 8% of the rows)
    has the largest |logit|, so its rows carry weights well below 1, yet every group's fitted probability
    is its observed frequency. The seed's loss clips that group's up rows and halves its probability."""
    shares, probs = (0.08, 0.52, 0.40), (0.03, 0.3, 0.6)
    n = 12_000
    counts = [round(s * n) for s in shares]
    groups = torch.cat([torch.full((c,), g, dtype=torch.long) for g, c in enumerate(counts)])
    y = torch.cat([bernoulli(p, c, seed=10 + g) for g, (p, c) in enumerate(zip(probs, counts))])
    freq = torch.stack([y[groups == g].mean() for g in range(3)])
    new = AdaptiveLogLoss(momentum=0.9)
    fitted = fit_group_logits(new, groups, y)
    torch.testing.assert_close(fitted, freq, atol=1e-3, rtol=0)
    assert float(new.weights(torch.logit(fitted[:1]))[0]) < 0.5  # the rare group's rows are down-weighted
    old = fit_group_logits(AdaptiveHuberLoss("sigmoid", momentum=0.9), groups, y)
    assert float(old[0]) < 0.8 * float(freq[0])  # biased towards "not up" (about 0.022 against 0.03)


def outlier_batch_grad_norm(crit, scale: float) -> tuple[float, float]:
    """Gradient norm over an MLP's weights of 63 ordinary rows plus one row scaled by ``scale`` whose
    label contradicts its logit, and the loss's delta after the batch."""
    torch.manual_seed(3)
    model = MLP(6, (16, 8), 0.0, seed=3)
    x = torch.randn(64, 6)
    x[0] *= scale
    with torch.no_grad():
        z0 = model(x)
    y = (torch.rand(64) < 0.5).float()
    y[0] = float(z0[0] < 0)  # confidently wrong
    model.zero_grad()
    crit(model(x), y).backward()
    norm = torch.nn.utils.get_total_norm([p.grad for p in model.parameters()])
    if getattr(crit, "pending", None) is not None:
        crit.commit(float(crit.pending))
    return float(norm), float(getattr(crit, "delta", math.nan))


def test_an_outlier_rows_pull_on_the_weights_stays_bounded():
    """(b) log-loss's gradient grows like the outlier's scale (its pull on its logit stays 1 while the
    logit's gradient over the weights grows like its activations); the Huber weight delta/|z| cancels
    that, and one outlier row cannot move delta (a batch quantile)."""
    scales = (1.0, 1e2, 1e4)
    plain = [outlier_batch_grad_norm(LogLoss(), s)[0] for s in scales]
    robust = [outlier_batch_grad_norm(AdaptiveLogLoss(momentum=0.0), s) for s in scales]
    assert plain[2] > 50 * plain[1] > 250 * plain[0]  # grows with the scale, without bound
    norms, deltas = [r[0] for r in robust], [r[1] for r in robust]
    assert norms[2] < 1.5 * norms[1] < 6 * norms[0]  # levels off at a bound (about 1.35 here, 0.37 without)
    assert deltas[2] == pytest.approx(deltas[0], rel=0.05)


def test_the_flag_keeps_its_hooks_for_the_trainer():
    """(c) ``--adaptive_loss`` still builds an :class:`AdaptiveHuberLoss` (the trainer's one-sync
    ``pending``/``commit``, the metrics' ``huber_delta``), now the proper log-loss for 0/1 targets."""
    direction = make_loss("direction", True, 0.8, 0.5)
    assert isinstance(direction, AdaptiveLogLoss) and isinstance(direction, AdaptiveHuberLoss)
    assert (direction.quantile, direction.momentum, direction.link) == (0.8, 0.5, "sigmoid")
    assert direction.name == "adaptive_huber_log_loss"
    assert type(make_loss("rank", True)) is AdaptiveHuberLoss
    direction(torch.randn(128) * 2, bernoulli(0.5, 128, 2))
    other = AdaptiveLogLoss()
    other.load_state_dict(direction.state_dict())
    assert other.delta == direction.delta and other.initialized
