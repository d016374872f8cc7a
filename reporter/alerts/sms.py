"""Alerts by SMS to members who opted in (issue 16), through the gateways' outbound sender
(reporter/services/gateways.py, Africa's Talking).

Her number is normalised (`phonenumbers`) and sealed in the web request to the alerts-SMS
public key (instance/keys/alerts-sms.pub); the web app never needs the secret. The sending
job (`flask --app wsgi alerts send-sms`, e.g. from a timer) holds it (alerts-sms.key beside the
.pub, or ALERTS_SMS_SECRET as hex: on a deployment, only the job's user or host should be able
to read it), opens each number in its own memory, and sends each newly approved alert of her
province.

Honest limit: whoever runs the job, the SMS provider and the mobile network see the numbers
(and the provider sees the text); a thief of the database alone does not. The message names no
number or plate and says only kind, severity, area and month.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Protocol

from nacl.public import PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter.alerts import index, store
from reporter.alerts.labels import KINDS, SEVERITY_LABELS
from reporter.crypto import envelope
from reporter.crypto.signing import KeyMissing
from reporter.models.alerts import Alert, AlertSmsSubscription, MemberCode

log = logging.getLogger(__name__)
PUBLIC_FILE, SECRET_FILE = "alerts-sms.pub", "alerts-sms.key"


class Sender(Protocol):
    def send(self, to: str, message: str) -> Any: ...


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def init_keys(instance_path: Path) -> bytes:
    """Make the alerts-SMS key pair if missing; the public key."""
    folder = instance_path / "keys"
    if not (folder / PUBLIC_FILE).exists():
        sk = PrivateKey.generate()
        _write(folder / SECRET_FILE, bytes(sk))
        _write(folder / PUBLIC_FILE, bytes(sk.public_key))
    return public_key(instance_path)


def public_key(instance_path: Path) -> bytes:
    path = instance_path / "keys" / PUBLIC_FILE
    if not path.exists():
        raise KeyMissing("no alerts-SMS key: run `flask --app wsgi alerts init-sms-key`")
    return path.read_bytes()[:32]


def secret_key(instance_path: Path) -> bytes:
    env = os.environ.get("ALERTS_SMS_SECRET")
    if env:
        return bytes.fromhex(env)
    path = instance_path / "keys" / SECRET_FILE
    if not path.exists():
        raise KeyMissing("the sending job has no alerts-SMS secret")
    return path.read_bytes()[:32]


def subscribe(session: Session, member: MemberCode, number: str, pk: bytes) -> None:
    """Seal her number to the job's key and keep it for her card (one number per card)."""
    e164 = index.full_phone(number)
    if not e164:
        raise index.NotAnIdentifier("not a phone number")
    sealed = envelope.seal({"v": 1, "to": e164}, [pk])
    row = session.scalars(
        select(AlertSmsSubscription).where(AlertSmsSubscription.member_code_id == member.id)
    ).first()
    if row is None:
        session.add(AlertSmsSubscription(member_code_id=member.id, sealed=sealed))
    else:
        row.sealed = sealed


def unsubscribe(session: Session, member: MemberCode) -> None:
    row = session.scalars(
        select(AlertSmsSubscription).where(AlertSmsSubscription.member_code_id == member.id)
    ).first()
    if row is not None:
        session.delete(row)


def message(alert: Alert) -> str:
    return (
        f"Safety alert {alert.province}: {SEVERITY_LABELS[alert.severity]}, "
        f"{KINDS.get(alert.kind, alert.kind)}, {alert.area}, "
        f"{alert.month.strftime('%Y-%m')}. Details and number checks: /alerts"
    )[:300]


def send_pending(session: Session, sk: bytes, sender: Sender) -> tuple[int, int]:
    """Send each current alert not yet sent to its province's live subscribers; (alerts,
    messages). A failure is counted, never logged with the number. The caller commits."""
    alerts = session.scalars(
        select(Alert)
        .where(store.current(), Alert.sms_sent_on.is_(None))
        .order_by(Alert.published_on, Alert.id)
    ).all()
    sent = 0
    for alert in alerts:
        subs = session.execute(
            select(AlertSmsSubscription, MemberCode)
            .join(MemberCode, MemberCode.id == AlertSmsSubscription.member_code_id)
            .where(
                MemberCode.province == alert.province,
                MemberCode.revoked.is_(False),
                MemberCode.expires_on >= store.today(),
            )
        ).all()
        text = str(message(alert))
        for sub, _code in subs:
            try:
                to = str(envelope.open_envelope(sub.sealed, sk)["to"])
                sender.send(to, text)
                sent += 1
            except Exception as exc:  # noqa: BLE001 (one failure must not stop the others)
                log.warning("alert SMS not sent: %s", type(exc).__name__)
        alert.sms_sent_on = store.today()
    return len(alerts), sent
