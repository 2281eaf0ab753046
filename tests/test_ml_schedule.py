"""The learning-rate schedule: linear warmup, cosine decay to 10 % of the peak, a pure function of the step."""

import math

import pytest

from futures_vpoc.ml.schedule import lr_at


def test_warmup_is_linear_and_starts_above_zero():
    assert lr_at(0, 1e-3, 100, 1000) == pytest.approx(1e-5)
    assert lr_at(49, 1e-3, 100, 1000) == pytest.approx(5e-4)
    assert lr_at(99, 1e-3, 100, 1000) == pytest.approx(1e-3)


def test_cosine_decay_to_the_floor_then_flat():
    """Prior defect (item 42): no decay after warmup."""
    peak, warm, total = 2e-4, 100, 1100
    assert lr_at(100, peak, warm, total) == pytest.approx(peak)
    assert lr_at(600, peak, warm, total) == pytest.approx(peak * (0.1 + 0.9 * 0.5))
    assert lr_at(1100, peak, warm, total) == pytest.approx(0.1 * peak)
    assert lr_at(5000, peak, warm, total) == pytest.approx(0.1 * peak)
    values = [lr_at(s, peak, warm, total) for s in range(100, 1101)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_no_warmup_and_custom_floor():
    assert lr_at(0, 1.0, 0, 10, min_lr_ratio=0.0) == pytest.approx(1.0)
    assert lr_at(10, 1.0, 0, 10, min_lr_ratio=0.0) == pytest.approx(0.0, abs=1e-12)
    assert lr_at(5, 1.0, 0, 10, min_lr_ratio=0.0) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))


def test_run_shorter_than_the_warmup_stays_in_warmup():
    assert lr_at(371, 2e-4, 3000, 372) == pytest.approx(2e-4 * 372 / 3000)


def test_pure_function_of_the_step():
    assert [lr_at(s, 1e-3, 10, 50) for s in range(50)] == [lr_at(s, 1e-3, 10, 50) for s in range(50)]
    with pytest.raises(ValueError):
        lr_at(-1, 1e-3, 10, 50)
