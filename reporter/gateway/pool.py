"""Receipts drawn ahead: a USSD reporter waits for her receipt inside a gateway's ~10 s
timeout, and the receipt's Argon2id (64 MiB, time cost 3) is the slowest part of accepting a
report. Its input is only a random number, so each worker process keeps a few receipts drawn
and derived ahead of need, in memory only (never stored: a restart loses only unused numbers),
refilled by one background thread. accept() takes one, or derives inline when the pool is
empty; a receipt is issued only after its report is committed, as before.
"""

from __future__ import annotations

import os
import queue
import threading

from reporter.crypto import receipts

Drawn = tuple[str, receipts.Derived, receipts.ReplyKey]


class ReceiptPool:
    def __init__(self, hashing: receipts.Hashing, size: int = 6) -> None:
        self.hashing, self.size = hashing, size
        self._ready: queue.Queue[Drawn] = queue.Queue(maxsize=max(1, size))
        self._wake = threading.Event()
        self._pid: int | None = None
        self._lock = threading.Lock()

    def _ensure_thread(self) -> None:
        # per process: a pre-forked (preload_app) worker starts its own refill thread
        if self._pid == os.getpid() or self.size <= 0:
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._ready = queue.Queue(maxsize=self.size)
            self._pid = os.getpid()
            threading.Thread(target=self._refill, name="receipt-pool", daemon=True).start()

    def _refill(self) -> None:
        while True:
            while not self._ready.full():
                receipt = receipts.new_receipt()
                derived = receipts.derive(receipt, self.hashing)
                self._ready.put((receipt, derived, receipts.new_reply_key(derived.wrap_key)))
            self._wake.wait(timeout=60)
            self._wake.clear()

    def warm(self) -> None:
        """Start filling (the first screen of a session calls it)."""
        self._ensure_thread()

    def take(self) -> Drawn | None:
        self._ensure_thread()
        try:
            drawn = self._ready.get_nowait()
        except queue.Empty:
            drawn = None
        self._wake.set()
        return drawn
