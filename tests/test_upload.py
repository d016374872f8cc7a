"""The sealed upload spool: what goes in comes out, in pieces or all at once; over-size is 413."""

from __future__ import annotations

import os

import pytest
from werkzeug.exceptions import RequestEntityTooLarge

from reporter.web.upload import PIECE, SealedSpool


@pytest.mark.parametrize("size", [0, 1, PIECE - 1, PIECE, PIECE + 1, 3 * PIECE + 17])
def test_spool_round_trip(size: int) -> None:
    data = os.urandom(size)
    spool = SealedSpool(limit=10 * PIECE)
    for i in range(0, size, 1000):
        spool.write(data[i : i + 1000])
    spool.seek(0)
    assert b"".join(spool.plaintext()) == data
    spool.seek(0)
    out = b""
    while chunk := spool.read(777):
        out += chunk
    assert out == data
    spool.seek(0)
    assert spool.read() == data
    # nothing in the sealed pieces is the plaintext
    if size >= 64:
        assert all(data[:64] not in piece for piece in spool._pieces)


def test_spool_refuses_past_its_limit() -> None:
    spool = SealedSpool(limit=100)
    spool.write(b"x" * 100)
    with pytest.raises(RequestEntityTooLarge):
        spool.write(b"y")
