"""Hostile bodies for `tests.fake_server.FakeServer`: answers the emulator never gives."""

from __future__ import annotations

import gzip
import zlib


def gzip_bomb(size: int) -> bytes:
    """A gzip member that inflates to `size` zero bytes (about 1000:1), built without holding `size` bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip container
    block = bytes(1024 * 1024)
    parts = []
    for _ in range(size // len(block)):
        parts.append(compressor.compress(block))
    parts.append(compressor.compress(bytes(size % len(block))))
    parts.append(compressor.flush())
    return b"".join(parts)


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=1)
