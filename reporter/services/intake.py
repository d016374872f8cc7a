"""Accepting a report: build or check its envelope, store it, and only then issue a receipt."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from reporter.config import Settings
from reporter.crypto import envelope, receipts
from reporter.domain.enums import Channel
from reporter.domain.payload import attachment_name, attachment_type, make_payload
from reporter.models.private import Attachment, IntakeToken, Receipt, Report
from reporter.services import photos
from reporter.services.keys import Keyring, pepper
from reporter.services.tokens import AlreadyAccepted, FormTokens, Shown
from reporter.web.upload import SealedSpool

ALLOWED_TYPES = ("image/", "audio/", "application/pdf", "video/3gpp")
MAX_ENVELOPE_CHARS = 1_500_000


class SubmissionRefused(ValueError):
    """A submission that cannot be accepted; the message is shown to the reporter."""


@dataclass
class SealedFile:
    header: dict[str, Any]
    body: bytes


@dataclass
class Submission:
    province: str
    channel: str
    envelope: dict[str, Any]
    files: list[SealedFile] = field(default_factory=list)


def hashing(settings: Settings) -> receipts.Hashing:
    return receipts.Hashing(
        pepper(settings.instance_path, settings.receipt_pepper),
        settings.receipt_argon2_time_cost,
        settings.receipt_argon2_memory_kib,
    )


def seal_uploads(
    files: list[FileStorage],
    recipients: list[bytes],
    settings: Settings,
    keep_original: bool = False,
) -> tuple[list[SealedFile], list[dict[str, Any]]]:
    """Re-seal each upload (held in a SealedSpool) to the report's recipients.

    Photos lose their hidden details (EXIF, XMP, GPS) in memory first, unless she asked to
    keep the original file.
    """
    files = [f for f in files if f and f.filename]
    if len(files) > settings.max_attachments:
        raise SubmissionRefused(
            _("You can attach at most %(n)s files.", n=settings.max_attachments)
        )
    sealed: list[SealedFile] = []
    described: list[dict[str, Any]] = []
    for index, upload in enumerate(files):
        kind = attachment_type(upload.mimetype)
        if not kind.startswith(ALLOWED_TYPES):
            raise SubmissionRefused(
                _("Only photos, PDF documents and voice notes can be attached.")
            )
        spool = upload.stream
        if not isinstance(spool, SealedSpool):
            raise SubmissionRefused(_("A file could not be read. Please attach it again."))
        if spool.size > settings.max_attachment_bytes:
            raise SubmissionRefused(_("A file is too large."))
        if spool.size == 0:
            raise SubmissionRefused(_("A file is empty. Please attach it again."))
        sealer = envelope.AttachmentSealer(recipients)
        body = bytearray()
        pieces, size = spool.plaintext(), spool.size
        if not keep_original and kind.startswith("image/"):
            try:  # in this request's memory only, like the spool's plaintext
                pieces = [photos.strip_metadata(b"".join(pieces), kind)]
            except photos.PhotoUnreadable as exc:
                raise SubmissionRefused(str(exc)) from exc
            size = len(pieces[0])
        for piece in pieces:
            body += sealer.update(piece)
        body += sealer.finish()
        spool.close()
        header = sealer.header()
        sealed.append(SealedFile(header, bytes(body)))
        # the header's key commitment binds each file to this report's sealed payload
        described.append(
            {
                "index": index,
                "name": attachment_name(upload.filename),
                "type": kind,
                "size": size,
                "kc": header["kc"],
                "metadata_removed": not keep_original and kind.startswith("image/"),
            }
        )
    return sealed, described


# Reports shorter than this all seal to the same size (a 10-character and a 3,000-character
# narrative look alike); longer ones fall into the envelope's power-of-two buckets.
PAYLOAD_FLOOR = 4096 - 4


def with_floor(payload: dict[str, Any]) -> dict[str, Any]:
    """Add a "pad" of spaces so the compact JSON is at least PAYLOAD_FLOOR bytes."""
    payload = {**payload, "pad": ""}
    size = len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    payload["pad"] = " " * max(0, PAYLOAD_FLOOR - size)
    return payload


def build_payload(form: Any, described: list[dict[str, Any]], language: str) -> dict[str, Any]:
    """What the reporter wrote, as the JavaScript path builds it too (one format)."""
    from reporter.domain import gazetteer

    town = gazetteer.lookup(form.town.data) if form.town.data else None
    return make_payload(
        categories=form.categories.data,
        perpetrators=form.perpetrators.data,
        year=form.year.data,
        month=form.month.data or None,
        day=form.day.data,
        province=form.province.data,
        town_id=town.id if town else None,
        town=town.name if town else None,
        place_text=form.place.data,
        narrative=form.narrative.data,
        perpetrator_details=form.perpetrator_details.data or "",
        consent_contact=bool(form.consent_contact.data),
        consent_legal=bool(form.consent_legal.data),
        attachments=described,
        language=language,
        channel=Channel.WEB_NOJS,
    )


def check_sealed(
    keyring: Keyring,
    province: str,
    raw_envelope: str,
    raw_headers: str,
    bodies: list[FileStorage],
    settings: Settings,
) -> Submission:
    """The JavaScript path: accept envelopes only, well formed and addressed as required."""
    if len(raw_envelope) > MAX_ENVELOPE_CHARS:
        raise SubmissionRefused(_("The report is too large."))
    try:
        env = json.loads(raw_envelope)
        headers = json.loads(raw_headers or "[]")
    except (ValueError, RecursionError) as exc:
        raise SubmissionRefused(_("The locked report arrived damaged. Please try again.")) from exc
    required = keyring.required_kids(province)
    try:
        envelope.validate(env, required)
    except envelope.EnvelopeError as exc:
        raise SubmissionRefused(
            _("The locked report was refused (%(reason)s). Please try again.", reason=str(exc))
        ) from exc
    bodies = [b for b in bodies if b and b.filename]
    if not isinstance(headers, list) or len(headers) != len(bodies):
        raise SubmissionRefused(_("The attached files do not match. Please attach them again."))
    if len(bodies) > settings.max_attachments:
        raise SubmissionRefused(
            _("You can attach at most %(n)s files.", n=settings.max_attachments)
        )
    files: list[SealedFile] = []
    for header, upload in zip(headers, bodies, strict=True):
        spool = upload.stream
        if not isinstance(spool, SealedSpool):
            raise SubmissionRefused(_("A file could not be read. Please attach it again."))
        body = b"".join(spool.plaintext())  # already ciphertext: sealed in the browser
        try:
            envelope.validate_attachment_header(header, required, body_length=len(body))
        except envelope.EnvelopeError as exc:
            raise SubmissionRefused(
                _("A locked file was refused (%(reason)s). Please try again.", reason=str(exc))
            ) from exc
        files.append(SealedFile(header, body))
    return Submission(province, Channel.WEB_JS, env, files)


def _new_receipt(h: receipts.Hashing) -> tuple[str, receipts.Derived, receipts.ReplyKey]:
    """A fresh receipt, what is derived from it, and its reply key."""
    receipt = receipts.new_receipt()
    derived = receipts.derive(receipt, h)
    return receipt, derived, receipts.new_reply_key(derived.wrap_key)


def _stage(
    session: Session,
    submission: Submission,
    settings: Settings,
    derived: receipts.Derived,
    reply: receipts.ReplyKey,
) -> None:
    """Add the report, its files and its receipt's row to the session (flushed, not committed)."""
    ct_len = len(envelope.b64d(submission.envelope["ct"]))
    report = Report(
        province=submission.province,
        channel=submission.channel,
        size_bucket=ct_len,
        envelope=submission.envelope,
    )
    report.attachments = [
        Attachment(header=f.header, body=f.body, size_bucket=len(f.body)) for f in submission.files
    ]
    session.add(report)
    session.flush()
    session.add(
        Receipt(
            lookup_hash=derived.lookup,
            report_id=report.id,
            reply_public_key=reply.public_key,
            wrapped_reply_key=reply.wrapped,
            expires_on=receipts.expiry(settings.receipt_days),
        )
    )


def accept(
    session: Session,
    submission: Submission,
    settings: Settings,
    once: tuple[FormTokens, str] | None = None,
    drawn: Callable[[], tuple[str, receipts.Derived, receipts.ReplyKey] | None] | None = None,
) -> str:
    """Store the report, its files and its receipt in one transaction; return the receipt.

    The receipt exists only after the commit: a reporter is never told that a report was
    received unless it is durably stored. With `once` (the form tokens and this form's id),
    the form's single-use row goes into the same transaction: a second post of the same form,
    even one arriving at the same moment, raises AlreadyAccepted instead of storing a second
    report.
    """
    h = hashing(settings)
    for attempt in range(3):
        # `drawn`: a receipt drawn and derived ahead of need (reporter/gateway/pool.py)
        ready = drawn() if drawn is not None and attempt == 0 else None
        receipt, derived, reply = ready if ready is not None else _new_receipt(h)
        _stage(session, submission, settings, derived, reply)
        if once is not None:
            forms_tokens, token = once
            session.add(
                forms_tokens.row(token, Shown(receipt, submission.channel, len(submission.files)))
            )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            if once is not None:
                earlier = session.get(IntakeToken, once[0].lookup(once[1]))
                if earlier is not None:  # the same form, accepted by a post just before
                    raise AlreadyAccepted(once[0].open_row(once[1], earlier)) from None
            continue  # a receipt collision (1 in 10^16): draw again
        return receipt
    raise RuntimeError("could not draw a unique receipt")
