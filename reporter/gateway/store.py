"""Where a USSD session's state lives between requests: Redis where REDIS_URL is set, else a
small table (gateway_session). Either way:

- the key is an HMAC of the gateway's sessionId under a server key (never the phone number),
- the value is sealed (SecretBox) under a key derived from the sessionId and the server
  secret, so the store alone (a Redis dump, a database copy) does not open it,
- it expires after SESSION_SECONDS (the gateway's own session is about 3 minutes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from typing import Any, Protocol

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox
from nacl.utils import random as random_bytes
from sqlalchemy import delete, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from reporter.models.base import utcnow
from reporter.models.private import GatewaySession

SESSION_SECONDS = 180
PURGE_EVERY = 10


def _derive(secret: str, label: bytes, session_id: str) -> bytes:
    return hmac.new(secret.encode(), label + b"\x00" + session_id.encode(), hashlib.sha256).digest()


def session_key(secret: str, session_id: str) -> str:
    """The store's key for a session (and the rate-limit key): an HMAC, 64 hex."""
    return _derive(secret, b"reporter-gateway-session-key", session_id).hex()


def _box(secret: str, session_id: str) -> SecretBox:
    return SecretBox(_derive(secret, b"reporter-gateway-session-box", session_id))


def seal_state(secret: str, session_id: str, state: dict[str, Any]) -> bytes:
    data = json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()
    return bytes(_box(secret, session_id).encrypt(data, random_bytes(SecretBox.NONCE_SIZE)))


def open_state(secret: str, session_id: str, box: bytes) -> dict[str, Any] | None:
    try:
        state = json.loads(_box(secret, session_id).decrypt(box))
    except (CryptoError, ValueError):
        return None
    return state if isinstance(state, dict) else None


class Store(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, box: bytes, seconds: int) -> None: ...


class RedisStore:
    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)

    def get(self, key: str) -> bytes | None:
        value = self.client.get("ussd:" + key)
        return bytes(value) if value is not None else None  # type: ignore[arg-type]

    def put(self, key: str, box: bytes, seconds: int) -> None:
        self.client.set("ussd:" + key, box, ex=seconds)


class DatabaseStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, key: str) -> bytes | None:
        row = self.session.get(GatewaySession, key)
        if row is None or row.expires_at <= utcnow():  # expired: as if gone
            return None
        return bytes(row.box)

    def put(self, key: str, box: bytes, seconds: int) -> None:
        until = utcnow() + dt.timedelta(seconds=seconds)
        # the state is worth a few minutes: a crash may lose the last answer (she dials
        # again), so this commit does not wait for the disk
        self.session.execute(text("SET LOCAL synchronous_commit = off"))
        stmt = insert(GatewaySession).values(key=key, box=box, expires_at=until)
        self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["key"], set_={"box": box, "expires_at": until}
            )
        )
        if secrets.randbelow(PURGE_EVERY) == 0:  # expired sessions go as new ones come
            self.session.execute(delete(GatewaySession).where(GatewaySession.expires_at < utcnow()))
        self.session.commit()


class SessionState:
    """Load and save one session's state (a dict) in a Store, sealed."""

    def __init__(self, store: Store, secret: str, session_id: str) -> None:
        self.store, self.secret, self.session_id = store, secret, session_id
        self.key = session_key(secret, session_id)

    def load(self) -> dict[str, Any] | None:
        box = self.store.get(self.key)
        return open_state(self.secret, self.session_id, box) if box is not None else None

    def save(self, state: dict[str, Any], seconds: int = SESSION_SECONDS) -> None:
        self.store.put(self.key, seal_state(self.secret, self.session_id, state), seconds)
