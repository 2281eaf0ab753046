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


def test_dropout_masks_rate_scale_and_independence():
    masks = DropoutMasks((512, 256), 0.15, seed=1, block_rows=256)
    assert masks.effective_rate == pytest.approx(0.15, abs=1e-5)
    drawn = [masks.take(64) for _ in range(40)]  # crosses several blocks
    a = torch.cat([d[0] for d in drawn])
    assert a.shape == (2560, 512)
    values = torch.unique(a)
    assert len(values) == 2 and values[0] == 0.0
    assert values[1].item() == pytest.approx(1.0 / (1.0 - masks.effective_rate), rel=1e-6)
    dropped = (a == 0).float().mean().item()
    assert dropped == pytest.approx(0.15, abs=0.005)
    assert a.mean().item() == pytest.approx(1.0, abs=0.01)  # unbiased, like nn.Dropout
    # consecutive batches differ (nothing reused)
    assert not torch.equal(drawn[0][0], drawn[1][0])
    big = masks.take(1000)  # more rows than a block
    assert big[1].shape == (1000, 256)
    odd = masks.take(30)  # the last batch of an epoch: its own draw, the block stays
    assert odd[0].shape == (30, 512) and masks.take(64)[0].shape == (64, 512)


def test_dropout_masks_reseed_is_reproducible():
    a = DropoutMasks((32,), 0.3, seed=[7, 1, 0])
    b = DropoutMasks((32,), 0.3, seed=[7, 2, 0])
    first = a.take(10)[0].clone()
    a.take(10)
    a.reseed([7, 1, 0])
    assert torch.equal(a.take(10)[0], first)
    assert not torch.equal(b.take(10)[0], first)


def test_dropout_masks_in_every_dtype_keep_the_same_units():
    """float32 masks are the values the plain formula gives (keep as float32, times the float32 scale);
    bfloat16 masks (autocast) keep the same units with the float32 mask's value rounded to bfloat16."""
    import numpy as np

    f32 = DropoutMasks((512, 256), 0.15, seed=3, block_rows=512)
    b16 = DropoutMasks((512, 256), 0.15, seed=3, block_rows=512)
    by_hand = np.random.PCG64(np.random.SeedSequence(3)).random_raw((768 * 512 + 3) // 4)
    keep = by_hand.view(np.int16)[:768 * 512] >= f32.threshold
    want = keep.astype(np.float32) * np.float32(f32.scale)
    for _ in range(3):  # across blocks: 512-row blocks of 128-row batches
        a, b = f32.take(128), b16.take(128, torch.bfloat16)
        assert all(m.dtype == torch.bfloat16 for m in b)
        for x, y in zip(a, b, strict=True):
            assert torch.equal(x.to(torch.bfloat16), y) and torch.equal(x == 0, y == 0)
    first = DropoutMasks((512, 256), 0.15, seed=3, block_rows=512)._draw(512)
    np.testing.assert_array_equal(first[0].numpy(), want[:512 * 512].reshape(512, 512))
    np.testing.assert_array_equal(first[1].numpy(), want[512 * 512:].reshape(512, 256))
    assert torch.unique(b16.take(128, torch.bfloat16)[0]).tolist() == [0.0, 1.1796875]  # bf16(1 / 0.85)
    mixed = DropoutMasks((64,), 0.15, seed=3, block_rows=512)
    mixed.take(128)  # a float32 block, then a bfloat16 request: converted, the same units
    assert mixed.take(128, torch.bfloat16)[0].dtype == torch.bfloat16


def test_model_under_bf16_autocast_multiplies_in_bf16():
    torch.manual_seed(0)
    model = MLP(8, (64, 32), 0.5)
    model.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(torch.randn(16, 8))
    assert out.dtype == torch.bfloat16 and torch.isfinite(out.float()).all()
    assert model.masks._dtype == torch.bfloat16


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
