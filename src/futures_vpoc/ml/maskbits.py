"""Which units dropout keeps, straight from SplitMix64 in numba, written as the layer's bias or -inf.

The generator
    SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014;
    the constants are Stafford's "variant 13" mix, as in Vigna's reference ``splitmix64.c``): word
    ``k`` (counted from 0) of the stream seeded with ``s`` is ``mix(s + (k + 1) * 0x9E3779B97F4A7C15)``
    modulo 2**64. It passes BigCrush, and because word ``k`` is a function of ``(s, k)`` alone, any
    stretch of the stream is made without running through the words before it. Seeds come from
    :class:`numpy.random.SeedSequence`, so two streams overlap only if their 64-bit seeds differ by
    a multiple of the increment smaller than the words they use: negligible for random seeds.

Why not numpy's generators
    numpy's PCG64 (or SFC64) makes the bits about as fast as each other, 1.7-1.8 ms for the
    4096 x 960 units of one batch of the seed model, and masks from them took two more passes
    (compare, then multiply into the scale's bit pattern) over fresh temporaries: 2.4 ms a batch,
    a fifth of a bfloat16 training step at batch 4096. :func:`fill_dropped_bias` makes the bits,
    compares and writes each layer's bias (or -inf) in passes the compiler vectorises: 0.23 ms for
    the same batch, all four layers (``benchmarks/bench_train.py`` measures the step it sits in).

Units and lanes
    Each 64-bit word gives four units: unit ``4k + j`` reads bits ``16j .. 16j + 15`` of word ``k``
    as a signed 16-bit integer (what ``word.view(np.int16)`` gives on a little-endian machine) and is
    kept when that integer is at least ``threshold``. A draw of ``n`` units uses ``ceil(n / 4)`` words;
    the spare lanes of the last word are not used again.
"""

from __future__ import annotations

import sys

import numpy as np
from numba import njit

GAMMA = np.uint64(0x9E3779B97F4A7C15)
"""SplitMix64's increment (2**64 / golden ratio, odd)."""
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True, nogil=True, _nrt=False)
def _word(seed, k):
    """Word ``k`` (uint64) of the SplitMix64 stream seeded with ``seed``."""
    z = seed + (k + np.uint64(1)) * GAMMA
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True, _nrt=False)
def _lane(word, j):
    """Lane ``j`` (0-3) of ``word`` as a signed 16-bit integer."""
    return np.int16(np.uint16((word >> np.uint64(16 * j)) & np.uint64(0xFFFF)))


@njit(cache=True, nogil=True, _nrt=False)
def _fill_rows_of_words(out, bias, seed, first, threshold, dropped, scratch):
    # each row is whole words: make the row's words in ``scratch`` (width / 4 uint64, stays in L1), read
    # them back as 16-bit lanes (little-endian: lane j of a word is its bits 16j..16j+15), then choose
    # bias or dropped per unit. Two short loops the compiler vectorises; one loop over words and lanes
    # with the bias select inside ran 15x slower (3.7 against 0.15 ms for 4096 x 512 units).
    rows, width = out.shape
    per_row = width // 4
    lanes = scratch.view(np.int16)
    for r in range(rows):
        start = first + np.uint64(r * per_row)
        for k in range(per_row):
            scratch[k] = _word(seed, start + np.uint64(k))
        row = out[r]
        for c in range(width):
            row[c] = bias[c] if lanes[c] >= threshold else dropped


@njit(cache=True, nogil=True, _nrt=False)
def _fill_any(out, bias, seed, first, threshold, dropped):
    rows, width = out.shape
    for i in range(rows * width):
        r, c = divmod(i, width)
        word = _word(seed, first + np.uint64(i // 4))
        out[r, c] = bias[c] if _lane(word, i % 4) >= threshold else dropped


def fill_dropped_bias(out: np.ndarray, bias: np.ndarray, seed: int, first: int, threshold: int, dropped) -> int:
    """Write one layer's bias, with the dropped units set to ``dropped``, into every row of ``out``.

    Unit ``(r, c)`` is unit ``i = r * width + c`` of the draw: it reads lane ``i % 4`` of word
    ``first + i // 4`` and is kept when that lane is >= ``threshold``.

    Parameters
    ----------
    out : ndarray of uint16 or uint32, shape (rows, width)
        C-contiguous; filled in place with the bit patterns of the activations' dtype.
    bias : ndarray of ``out``'s dtype, shape (width,)
        The bits of the layer's bias in that dtype.
    seed : int
        The stream's seed, 0 <= seed < 2**64.
    first : int
        Index of the first word of the stream to use (the words of earlier draws are skipped).
    threshold : int
        Keep threshold on the signed 16-bit lane, -32768 .. 32767.
    dropped : int
        The bits a dropped unit gets (the dtype's -inf in the model).

    Returns
    -------
    int
        Words used, ``ceil(rows * width / 4)``: add it to ``first`` for the next draw.
    """
    if out.ndim != 2 or not out.flags.c_contiguous or bias.shape != out.shape[1:] or bias.dtype != out.dtype:
        raise ValueError("dropout: out must be a C-contiguous (rows, width) array and bias (width,) of its dtype")
    args = (out, bias, np.uint64(seed), np.uint64(first), np.int16(threshold), out.dtype.type(dropped))
    if out.shape[1] % 4 == 0 and sys.byteorder == "little":
        _fill_rows_of_words(*args, np.empty(out.shape[1] // 4, dtype=np.uint64))
    else:
        _fill_any(*args)
    return (out.size + 3) // 4


__all__ = ["GAMMA", "fill_dropped_bias"]
