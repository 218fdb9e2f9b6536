"""Tiny real files for the attachment tests, made here with the standard library.

- ``png(seed)``: a 2×2 RGB PNG whose pixels (and so its SHA-256) differ with ``seed``;
- ``jpeg(seed)``: an 8×8 grey baseline JPEG (one block, DC only) with ``seed`` in a comment;
- ``webp()``: a 1×1 lossless WebP;
- ``pdf()``: a one-page PDF with no content.

tests/ is on the import path through tests/conftest.py, so every test folder imports this.
"""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(seed: int = 0) -> bytes:
    """A 2×2 RGB PNG; another ``seed``, other pixels."""
    rows = b"".join(
        b"\x00" + bytes(v for x in range(2) for v in ((seed + x) % 256, (seed * 7 + y) % 256, 90))
        for y in range(2)
    )
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows))
        + _chunk(b"IEND", b"")
    )


def _segment(marker: int, data: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(data) + 2) + data


def jpeg(seed: int = 0) -> bytes:
    """An 8×8 mid-grey baseline JPEG: one block whose DC difference is 0 and whose AC
    coefficients are all 0 (each Huffman table has one one-bit code)."""
    quant = _segment(0xDB, b"\x00" + bytes([1] * 64))
    frame = _segment(0xC0, b"\x08" + struct.pack(">HH", 8, 8) + b"\x01" + b"\x01\x11\x00")
    dc = _segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")
    ac = _segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\x00")
    scan = _segment(0xDA, b"\x01" + b"\x01\x00" + b"\x00\x3f\x00")
    comment = _segment(0xFE, f"quaywatch test {seed}".encode())
    # Entropy data: DC category 0 (bit 0), end of block (bit 0), padded with ones.
    return b"\xff\xd8" + comment + quant + frame + dc + ac + scan + b"\x3f" + b"\xff\xd9"


def webp() -> bytes:
    """A 1×1 lossless WebP."""
    body = b"\x2f\x00\x00\x00\x00\x88\x88\x08"
    chunk = b"VP8L" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def pdf() -> bytes:
    """A one-page PDF with nothing on the page."""
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
