"""zstd compression of test files (DBN ``.dbn.zst``), through pyarrow's codec."""

from __future__ import annotations

import pyarrow as pa


def zstd(data: bytes) -> bytes:
    """``data`` as one zstd frame."""
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as out:
        out.write(data)
    return sink.getvalue().to_pybytes()
