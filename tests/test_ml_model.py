"""The MLP: logits out (no sigmoid inside), no normalisation layers, documented init, exact CPU dropout."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from futures_vpoc.ml.model import MLP, DropoutMasks, build_model, param_count, predict_logits, probabilities


def test_outputs_are_unbounded_logits_not_probabilities():
    """Prior defect (item 35): the model ended in a sigmoid. Ours emits logits of any sign and size."""
    torch.manual_seed(0)
    model = MLP(8, (16, 8), 0.0)
    assert not any(isinstance(m, (nn.Sigmoid, nn.Tanh, nn.Softmax)) for m in model.modules())
    with torch.no_grad():
        model.head.weight.mul_(100.0)
        z = model(torch.randn(2000, 8) * 3)
    assert z.shape == (2000,)
    assert (z < 0).any() and (z > 1).any()


def test_no_normalisation_layer_and_no_layernorm_hazard():
    """Prior defect (item 45): LayerNorm on near-constant vectors amplified gradients by ~1/sqrt(eps).

    Ours has no norm layer; rows that are exactly constant (all zero) give small, finite gradients.
    """
    torch.manual_seed(0)
    model = MLP(19, (512, 256, 128, 64), 0.15)
    assert not any(isinstance(m, (nn.LayerNorm, nn.BatchNorm1d, nn.GroupNorm)) for m in model.modules())
    x = torch.zeros(64, 19)
    loss = nn.functional.binary_cross_entropy_with_logits(model(x), torch.ones(64))
    loss.backward()
    norm = torch.nn.utils.get_total_norm([p.grad for p in model.parameters()])
    assert torch.isfinite(norm) and norm < 10.0


def test_initialisation_keeps_scale_and_starts_near_half():
    torch.manual_seed(0)
    model = MLP(57, (512, 256, 128, 64), 0.0)
    for layer in model.hidden:
        std = layer.weight.std().item()
        assert std == pytest.approx(math.sqrt(2.0 / layer.in_features), rel=0.1)
        assert torch.count_nonzero(layer.bias) == 0
    assert model.head.weight.std().item() == pytest.approx(0.1 / math.sqrt(64), rel=0.25)
    model.eval()
    with torch.no_grad():
        z = model(torch.randn(4096, 57))
    assert z.abs().mean() < 0.5  # first probabilities near 1/2, first log-loss near log 2


def test_param_count_and_spec_roundtrip():
    model = MLP(10, (512, 256, 128, 64), 0.15)
    # Linear layers only: no LayerNorm parameters (the prior system's count was 180,117 with them)
    expected = 10 * 512 + 512 + 512 * 256 + 256 + 256 * 128 + 128 + 128 * 64 + 64 + 64 + 1
    assert param_count(model) == expected
    again = build_model(model.spec())
    assert again.spec() == model.spec()


# SplitMix64's first five outputs for seed 1234567, from Rosetta Code ("Pseudo-random numbers/Splitmix64"),
# which reproduces Vigna's splitmix64.c; exact.
SPLITMIX64_1234567 = [6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431,
                      16408922859458223821]


def splitmix64_words(seed: int, first: int, count: int) -> np.ndarray:
    """Words first .. first + count - 1 of the stream, by numpy alone (the reference for the kernel)."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + np.arange(first + 1, first + count + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def test_splitmix64_matches_its_published_outputs():
    from futures_vpoc.ml.maskbits import _word

    got = [int(_word(np.uint64(1234567), np.uint64(k))) for k in range(5)]
    assert got == SPLITMIX64_1234567
    assert splitmix64_words(1234567, 0, 5).tolist() == SPLITMIX64_1234567


@pytest.mark.parametrize("rows, width", [(7, 12), (5, 9), (3, 1), (64, 512), (1, 6)])
@pytest.mark.parametrize("bits, minus_inf", [(np.uint16, 0xFF80), (np.uint32, 0xFF800000)])
def test_dropped_bias_kernel_equals_the_numpy_reference(rows, width, bits, minus_inf):
    """Unit (r, c) reads lane i % 4 of word first + i // 4, i = r * width + c, as a signed 16-bit integer,
    for widths that are whole words (the fast path) and widths that are not."""
    from futures_vpoc.ml.maskbits import fill_dropped_bias

    bias = np.arange(1, width + 1, dtype=bits)
    out = np.empty((rows, width), dtype=bits)
    threshold, first = round(0.3 * 65536) - 32768, 11
    used = fill_dropped_bias(out, bias, 987654321, first, threshold, minus_inf)
    n = rows * width
    assert used == math.ceil(n / 4)
    lanes = splitmix64_words(987654321, first, used).view("<i2")[:n].reshape(rows, width)
    np.testing.assert_array_equal(out, np.where(lanes >= threshold, bias, bits(minus_inf)))


def test_dropped_bias_rate_scale_and_fresh_units_every_call():
    masks = DropoutMasks((512, 256), 0.15, seed=1)
    assert masks.effective_rate == pytest.approx(0.15, abs=1e-5)
    assert masks.scale == pytest.approx(1.0 / (1.0 - masks.effective_rate), rel=1e-12)
    bias = torch.linspace(-1, 1, 512)
    calls = [masks.dropped_bias(bias, 64, torch.float32) for _ in range(40)]
    a = torch.cat(calls)
    assert a.shape == (2560, 512) and a.dtype == torch.float32
    dropped = torch.isinf(a)
    assert torch.all(a[dropped] == -math.inf)
    assert torch.equal(torch.where(dropped, 0.0, a), torch.where(dropped, 0.0, bias.expand_as(a)))
    # 1.3M units, binomial standard error 3e-4: 0.003 is 10 of them
    assert dropped.double().mean().item() == pytest.approx(0.15, abs=0.003)
    assert not torch.equal(dropped[:64], dropped[64:128])  # each call its own units
    # no column or row is favoured: every column's rate within 6 standard errors (2560 draws each)
    per_column = dropped.double().mean(0)
    assert (per_column - 0.15).abs().max().item() < 6 * math.sqrt(0.15 * 0.85 / 2560)


def test_dropout_stream_reseed_is_reproducible():
    a = DropoutMasks((32,), 0.3, seed=[7, 1, 0])
    b = DropoutMasks((32,), 0.3, seed=[7, 2, 0])
    bias = torch.zeros(32)
    first = a.dropped_bias(bias, 10, torch.float32).clone()
    a.dropped_bias(bias, 10, torch.float32)
    a.reseed([7, 1, 0])
    assert torch.equal(a.dropped_bias(bias, 10, torch.float32), first)
    assert not torch.equal(b.dropped_bias(bias, 10, torch.float32), first)


def test_dropped_bias_in_bf16_keeps_the_same_units_as_float32():
    f32 = DropoutMasks((512, 256), 0.15, seed=3)
    b16 = DropoutMasks((512, 256), 0.15, seed=3)
    bias = torch.randn(256)
    for _ in range(3):
        a, b = f32.dropped_bias(bias, 128, torch.float32), b16.dropped_bias(bias, 128, torch.bfloat16)
        assert b.dtype == torch.bfloat16
        assert torch.equal(torch.isinf(a), torch.isinf(b))
        assert torch.equal(a.to(torch.bfloat16), b)  # the bias rounded as autocast rounds it
    with pytest.raises(ValueError, match="float32, bfloat16 or float16"):
        f32.dropped_bias(bias, 4, torch.float64)


def _explicit_forward(model: MLP, x: torch.Tensor, keeps: list[torch.Tensor]) -> torch.Tensor:
    """relu(h W^T + b) * keep / (1 - p) per hidden layer, then the head: textbook dropout in float64."""
    params = {n: p.detach().double().requires_grad_() for n, p in model.named_parameters()}
    h = x.double()
    for i, keep in enumerate(keeps):
        h = torch.relu(h @ params[f"hidden.{i}.weight"].t() + params[f"hidden.{i}.bias"]) * keep * model.masks.scale
    return (h @ params["head.weight"].t() + params["head.bias"]).squeeze(-1), params


@pytest.mark.parametrize("widths", [(12, 8, 5), (64, 32)])
def test_training_forward_and_gradients_equal_textbook_dropout(widths):
    """The CPU training forward (a -inf bias for dropped units, the scale in the next layer's weights) gives
    the logits and every gradient of relu(.) * mask / (1 - p) with the same kept units, to float32 rounding."""
    torch.manual_seed(0)
    model = MLP(7, widths, 0.3, seed=4)
    model.train()
    x = torch.randn(10, 7)
    out = model(x)
    out.sum().backward()
    twin = DropoutMasks(widths, 0.3, seed=4)  # the same stream, the same call sequence
    keeps = [torch.isfinite(twin.dropped_bias(torch.zeros(w), 10, torch.float32)).double() for w in widths]
    assert 0 < sum(float((1 - k).sum()) for k in keeps)  # some units were dropped
    ref, params = _explicit_forward(model, x, keeps)
    ref.sum().backward()
    np.testing.assert_allclose(out.detach().double().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.double().numpy(), params[name].grad.numpy(), rtol=1e-4, atol=1e-6,
                                   err_msg=name)


def test_training_forward_propagates_non_finite_values_like_textbook_dropout():
    """A NaN input stays NaN (so the NaN guard sees it), as relu(NaN) * 0 is NaN in textbook dropout."""
    model = MLP(4, (8,), 0.5, seed=0)
    model.train()
    x = torch.ones(6, 4)
    x[2, 0] = math.nan
    out = model(x)
    assert torch.isnan(out[2]) and torch.isfinite(out[[0, 1, 3, 4, 5]]).all()


def test_model_under_bf16_autocast_runs_in_bf16():
    torch.manual_seed(0)
    model = MLP(8, (64, 32), 0.5)
    model.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(torch.randn(16, 8))
    assert out.dtype == torch.bfloat16 and torch.isfinite(out.float()).all()
    out.float().sum().backward()
    assert all(p.grad.dtype == torch.float32 and torch.isfinite(p.grad).all() for p in model.parameters())


def test_dropout_only_in_training_mode():
    torch.manual_seed(0)
    model = MLP(8, (64, 32), 0.5)
    x = torch.randn(100, 8)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    assert not torch.equal(model(x), model(x))


def test_predict_logits_and_the_one_sigmoid():
    torch.manual_seed(0)
    model = MLP(5, (8,), 0.2)
    model.train()
    X = np.random.default_rng(0).standard_normal((50, 5)).astype(np.float32)
    z = predict_logits(model, X, batch_size=7)
    assert model.training  # mode restored
    model.eval()
    with torch.no_grad():
        ref = model(torch.from_numpy(X)).double().numpy()
    np.testing.assert_allclose(z, ref, rtol=1e-6)
    p = probabilities(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_array_equal(p, [0.0, 0.5, 1.0])
