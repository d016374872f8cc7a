"""Uploads that never touch the disk in plaintext.

Werkzeug spools large uploads to a temporary file. Here every uploaded file is written into a
SealedSpool instead: as the bytes stream in, each 64 KiB piece is sealed under a key that exists
only in this request's memory; after parsing, the intake reads them back once, in memory, and
re-seals them to the report's recipients.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO

from flask import Request, current_app
from nacl.secret import SecretBox
from nacl.utils import random as random_bytes
from werkzeug.exceptions import RequestEntityTooLarge

PIECE = 64 * 1024
# a sealed upload from the JavaScript path is slightly larger than its plaintext
SEALING_SLACK = 1024 * 1024


class SealedSpool(io.RawIOBase):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self._box = SecretBox(random_bytes(SecretBox.KEY_SIZE))
        self._pieces: list[bytes] = []
        self._buf = bytearray()
        self._size = 0
        self._limit = limit
        self._reading: Iterator[bytes] | None = None
        self._pending = b""

    @property
    def size(self) -> int:
        return self._size

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._size += len(data)
        if self._size > self._limit:
            raise RequestEntityTooLarge()
        self._buf += data
        while len(self._buf) >= PIECE:
            self._seal(bytes(self._buf[:PIECE]))
            del self._buf[:PIECE]
        return len(data)

    def _seal(self, piece: bytes) -> None:
        self._pieces.append(bytes(self._box.encrypt(piece)))

    def _flush(self) -> None:
        if self._buf:
            self._seal(bytes(self._buf))
            self._buf = bytearray()

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:
            return self._size
        self._flush()
        self._reading, self._pending = None, b""
        return 0

    def tell(self) -> int:
        return self._size

    def plaintext(self) -> Iterator[bytes]:
        """The upload, piece by piece, decrypted in memory."""
        self._flush()
        for sealed in self._pieces:
            yield self._box.decrypt(sealed)

    def read(self, size: int = -1) -> bytes:
        if self._reading is None:
            self._reading = self.plaintext()
        out = bytearray(self._pending)
        while size < 0 or len(out) < size:
            nxt = next(self._reading, None)
            if nxt is None:
                break
            out += nxt
        if size >= 0:
            self._pending = bytes(out[size:])
            return bytes(out[:size])
        self._pending = b""
        return bytes(out)

    def close(self) -> None:
        self._pieces = []
        self._buf = bytearray()
        super().close()


class IntakeRequest(Request):
    """Flask request whose uploaded files go into SealedSpools, never to a temporary file."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        settings = current_app.extensions["reporter.settings"]
        return SealedSpool(settings.max_attachment_bytes + SEALING_SLACK)  # type: ignore[return-value]

    def _load_form_data(self) -> None:
        super()._load_form_data()
        # A multipart part without a name comes out under the key None; nothing of ours reads
        # it, and Flask-WTF's CSRF check calls str methods on every key (a 500 from a hostile
        # body). Drop such parts.
        for name in ("form", "files"):
            parsed = self.__dict__.get(name)
            if parsed is not None and None in parsed:
                self.__dict__[name] = type(parsed)(
                    (k, v) for k, v in parsed.items(multi=True) if k is not None
                )
