"""Report intake views: the form, the receipt, the reporter's inbox."""

from __future__ import annotations

import logging

from flask import (
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, generate_csrf
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from reporter.config import Settings
from reporter.crypto import envelope, receipts
from reporter.domain.enums import Channel
from reporter.domain.vocabulary import PROVINCES
from reporter.forms import bp
from reporter.forms.forms import NARRATIVE_MAX, ReceiptForm, ReplyForm, ReportForm
from reporter.models import db
from reporter.models.private import IntakeToken
from reporter.services import inbox, intake
from reporter.services.keys import KeyMissing, Keyring, load_keyring
from reporter.services.tokens import (
    RECEIPT_SHOWN_MINUTES,
    SHOWN_KEY,
    AlreadyAccepted,
    FormTokenInvalid,
    FormTokens,
    Shown,
    tidy,
)
from reporter.web.errors import render_error
from reporter.web.extensions import ensure_rate_token, global_key, limiter, on_rate_limited

log = logging.getLogger(__name__)
FORM_NONCE = "form_id"


def settings() -> Settings:
    return current_app.extensions["reporter.settings"]


def _keyring_or_503() -> Keyring:
    try:
        return load_keyring(db.session())
    except KeyMissing:
        log.warning("report refused: the platform's keys are not set up")
        abort(503)


def form_tokens() -> FormTokens:
    return FormTokens(settings().secret_key)


def _wants_json() -> bool:
    """The JS path uploads with XMLHttpRequest and shows refusals itself."""
    return request.headers.get("X-Requested-With") == "fetch"


def _render_form(
    form: ReportForm, status: int = 200, error: str | None = None
) -> tuple[str | Response, int]:
    """The form with a fresh single-use id; on a refusal, what she typed is kept (no JS)."""
    if error is not None and _wants_json():
        # with a fresh form id and CSRF token, as the HTML page would carry: report.js puts
        # them in the form, so her next tap on Send works without reloading (and retyping)
        return jsonify(
            error=error, form_id=form_tokens().issue(), csrf_token=generate_csrf()
        ), status
    ensure_rate_token()
    keyring = _keyring_or_503()
    return render_template(
        "forms/report.html",
        form=form,
        keys=keyring.as_json(),
        form_id=form_tokens().issue(),
        error=error,
    ), status


@bp.get("/report")
def report() -> tuple[str | Response, int]:
    """The report form (works with JavaScript off)."""
    return _render_form(ReportForm())


@bp.get("/keys.json")
def keys_json() -> Response:
    """The public halves of the case keys, for browsers that seal reports."""
    return jsonify(_keyring_or_503().as_json())


def _show_receipt(shown: Shown | None) -> Response | tuple[str | Response, int]:
    """After a report: the receipt page by GET, so a reload shows it again and re-sends nothing."""
    if shown is None:  # accepted earlier, receipt no longer kept
        if _wants_json():
            return jsonify(next=url_for("forms.received", already=1)), 200
        return render_template("forms/received_gone.html", already=True), 200
    form_tokens().remember(session, shown)
    if _wants_json():  # the JS upload: it goes to the receipt page itself (one fetch on 2G)
        return jsonify(next=url_for("forms.received")), 200
    return redirect(url_for("forms.received"), code=303)


Refusal = tuple[str | Response, int]


def _sealed_submission(keyring: Keyring, cfg: Settings) -> intake.Submission | Refusal:
    """The JavaScript path: envelopes sealed in the browser, checked (or the form again)."""
    province = request.form.get("province", "")
    if province not in PROVINCES:
        return _render_form(ReportForm(), 400, _("Choose the province where it happened."))
    try:
        submission = intake.check_sealed(
            keyring,
            province,
            request.form.get("envelope", ""),
            request.form.get("attachment_headers", ""),
            request.files.getlist("attachment"),
            cfg,
        )
    except intake.SubmissionRefused as exc:
        return _render_form(ReportForm(), 400, str(exc))
    return submission


def _plain_submission(keyring: Keyring, cfg: Settings) -> intake.Submission | Refusal:
    """The no-JavaScript path: the form validated, then sealed here on arrival (or the form
    again, with what she typed)."""
    form = ReportForm()
    if not form.validate():
        problem = (
            form.website.errors[0] if form.website.errors else _("Please check the marked answers.")
        )
        return _render_form(form, 400, str(problem))
    recipients = keyring.recipients(form.province.data)
    try:
        files, described = intake.seal_uploads(
            form.attachments.data or [],
            recipients,
            cfg,
            keep_original=bool(form.keep_original.data),
        )
    except intake.SubmissionRefused as exc:
        return _render_form(form, 400, str(exc))
    payload = intake.build_payload(form, described, str(get_locale() or "en"))
    sealed = envelope.seal(payload, recipients)
    del payload
    return intake.Submission(form.province.data, Channel.WEB_NOJS, sealed, files)


@bp.post("/report")
@limiter.limit(lambda: settings().report_limit)
@limiter.limit(lambda: settings().report_global_limit, key_func=global_key, scope="report-global")
def submit() -> Response | tuple[str | Response, int]:
    """Accept a report: sealed in the browser (JS) or sealed here on arrival (no JS)."""
    tokens = form_tokens()
    if request.is_json:  # our pages send a form; a JSON body is refused, never parsed as one
        return _render_form(
            ReportForm(formdata=None),
            400,
            _("This form was not sent as a form. Nothing was saved yet. Send it again."),
        )
    try:
        token = tokens.check(request.form.get(FORM_NONCE, ""))
    except FormTokenInvalid:
        return _render_form(
            ReportForm(),
            400,
            _("This form is too old. Nothing was saved yet. Check your words and send again."),
        )
    earlier = db.session().get(IntakeToken, tokens.lookup(token))
    if earlier is not None:  # a double tap, a resend after a dropped network, Back and Send
        return _show_receipt(tokens.open_row(token, earlier))
    cfg = settings()
    keyring = _keyring_or_503()
    make = _sealed_submission if request.form.get("sealed") == "1" else _plain_submission
    submission = make(keyring, cfg)
    if not isinstance(submission, intake.Submission):  # refused: the form again, with why
        return submission
    try:
        receipt = intake.accept(db.session(), submission, cfg, once=(tokens, token))
    except AlreadyAccepted as exc:  # the same form, sent twice at once: one report
        return _show_receipt(exc.shown)
    tidy(db.session())
    db.session().commit()
    return _show_receipt(Shown(receipt, submission.channel, len(submission.files)))


@bp.get("/report/received")
def received() -> tuple[str, int]:
    """Her receipt, shown again on a reload for RECEIPT_SHOWN_MINUTES (or until she says so)."""
    shown = form_tokens().recall(session)
    if shown is None:
        return render_template(
            "forms/received_gone.html", already=request.args.get("already") == "1"
        ), 200
    return render_template(
        "forms/receipt.html",
        receipt=receipts.grouped(shown.receipt),
        channel=shown.channel,
        files=shown.files,
        minutes=RECEIPT_SHOWN_MINUTES,
    ), 200


@bp.post("/report/received")
def received_done() -> Response:
    """ "I have written it down": stop showing the receipt on this phone."""
    session.pop(SHOWN_KEY, None)
    return redirect(url_for("forms.followup"), code=303)


@bp.errorhandler(CSRFError)
def _csrf_expired(exc: CSRFError) -> Response | tuple[str | Response, int]:
    """A form whose session is gone (the browser was closed, the cookie dropped): keep what
    she typed and let her send it again, rather than a bare "expired" page."""
    message = _("The form had expired. Nothing was saved yet. Check your words and send again.")
    if request.endpoint == "forms.submit":
        try:
            return _render_form(_form_as_sent(), 400, message)
        except SQLAlchemyError:  # the form needs the keys; with the database down, say so
            db.discard_session()
            return render_error(503)
    if request.endpoint == "forms.followup_reply":
        return _pending_login(
            _(
                "Your inbox had closed, so your answer was not sent yet. "
                "Type your receipt number and it will be sent."
            ),
            400,
        )
    if request.endpoint == "forms.followup_login":
        return render_template("forms/followup.html", form=ReceiptForm(), notice=message), 400
    return render_error(400, message)


def _form_as_sent() -> ReportForm:
    """The form filled with what she sent; empty if the body cannot be read as a form (a JSON
    body the parser refuses, e.g. a number of 5,000 digits)."""
    if request.is_json:  # never sent by our pages; a list or a number would break the form
        return ReportForm(formdata=None)
    try:
        return ReportForm()
    except BadRequest:
        return ReportForm(formdata=None)


def _pending() -> dict[str, str]:
    """Her unsent answer, carried through the receipt log-in (never stored)."""
    text = request.form.get("message") or request.form.get("pending") or ""
    sealed = request.form.get("envelope") or request.form.get("pending_envelope") or ""
    return {"text": text[:NARRATIVE_MAX], "envelope": sealed[:200_000]}


def _pending_login(notice: str, status: int) -> tuple[str, int]:
    return render_template(
        "forms/followup.html", form=ReceiptForm(), notice=notice, pending=_pending()
    ), status


@bp.get("/followup")
def followup() -> str:
    """Receipt log-in, or the inbox when the session still holds a short-lived reference."""
    ensure_rate_token()
    opened = inbox.resume(session, db.session(), settings().secret_key)
    if opened is None:
        return render_template("forms/followup.html", form=ReceiptForm())
    return _inbox_page(opened)


def _inbox_page(
    opened: inbox.Opened, reply_form: ReplyForm | None = None, error: str | None = None
) -> str:
    recipients = [envelope.b64e(pk) for pk in inbox.reply_recipients(opened, _keyring_or_503())]
    return render_template(
        "forms/inbox.html",
        report=opened.report,
        messages=inbox.messages(opened),
        form=reply_form or ReplyForm(),
        inbox_keys={"v": 1, "recipients": recipients},
        error=error,
    )


@bp.post("/followup")
@limiter.limit(lambda: settings().receipt_limit)
@limiter.limit(lambda: settings().receipt_global_limit, key_func=global_key, scope="receipt-global")
def followup_login() -> Response | tuple[str, int]:
    """Log in with the receipt (each try costs one Argon2id, so guessing is capped), then
    redirect to the inbox: the receipt stays out of the history and a reload re-sends nothing."""
    form = ReceiptForm()
    pending = _pending()
    if not form.validate():
        return render_template("forms/followup.html", form=form, pending=pending), 400
    try:
        opened = inbox.login(db.session(), form.receipt.data or "", intake.hashing(settings()))
    except receipts.ReceiptMalformed:
        form.receipt.errors = [_("A receipt is 16 digits.")]
        return render_template("forms/followup.html", form=form, pending=pending), 400
    except receipts.ReceiptUnknown:
        form.receipt.errors = [
            _(
                "We could not find this receipt. Check the digits. Receipts "
                "stop working after a year."
            )
        ]
        return render_template("forms/followup.html", form=form, pending=pending), 404
    inbox.forget(session, db.session(), settings().secret_key)
    session.clear()
    ensure_rate_token()
    inbox.remember(session, db.session(), opened, settings().secret_key)
    if pending["text"].strip() or pending["envelope"]:
        refused = _store_answer(opened, pending["text"], pending["envelope"])
        if refused is None:
            return redirect(url_for("forms.followup", sent=1), code=303)
    return redirect(url_for("forms.followup"), code=303)


def _store_answer(opened: inbox.Opened, text: str, sealed: str) -> str | None:
    """Store her answer (sealed in her browser, or sealed here); a refusal's message, or None."""
    keyring = _keyring_or_503()
    if sealed:
        try:
            env = inbox.check_sealed_reply(opened, keyring, sealed)
        except envelope.EnvelopeError:
            return _(
                "Your answer could not be locked on this phone, so it was not sent. "
                "Please try again."
            )
        inbox.store_reply(db.session(), opened, env)
        return None
    if not text.strip():
        return _("Please write something before sending.")
    if len(text) > NARRATIVE_MAX:
        return _("This is too long. Please shorten it.")
    inbox.reply(db.session(), opened, keyring, text)
    return None


@bp.post("/followup/reply")
@limiter.limit("20 per hour")
def followup_reply() -> Response | tuple[str, int]:
    """Send an answer to the moderators (sealed in her browser, or here without JS)."""
    opened = inbox.resume(session, db.session(), settings().secret_key)
    if opened is None:  # her inbox closed while she wrote: keep the answer, ask for the receipt
        return _pending_login(
            _(
                "Your inbox had closed, so your answer was not sent yet. Type "
                "your receipt number and it will be sent."
            ),
            200,
        )
    form = ReplyForm()
    if request.form.get("sealed") == "1":
        refused = _store_answer(opened, "", request.form.get("envelope", ""))
    elif not form.validate():
        return _inbox_page(opened, form), 400
    else:
        refused = _store_answer(opened, form.message.data or "", "")
    if refused is not None:
        return _inbox_page(opened, form, refused), 400
    return redirect(url_for("forms.followup", sent=1), code=303)


@bp.post("/followup/logout")
def followup_logout() -> Response:
    """Close her inbox, on the server as well, and forget the whole session."""
    inbox.forget(session, db.session(), settings().secret_key)
    session.clear()
    return redirect(url_for("forms.followup"), code=303)


# A 429 gives her the page she was on, with what she typed (never a bare "too many" page).
@on_rate_limited("forms.submit")
def _submit_limited() -> tuple[str | Response, int]:
    return _render_form(
        ReportForm(),
        429,
        _(
            "Too many reports were sent from this phone in a short time. Nothing was saved yet. "
            "Wait a few minutes, then send again: your words are still here."
        ),
    )


@on_rate_limited("forms.followup_login")
def _login_limited() -> tuple[str, int]:
    return _pending_login(
        _("Too many tries. Wait a few minutes, then type your receipt number again."), 429
    )


@on_rate_limited("forms.followup_reply")
def _reply_limited() -> tuple[str, int]:
    message = _(
        "Too many answers in a short time. Your answer was not sent yet: wait a few "
        "minutes, then send it again."
    )
    opened = inbox.resume(session, db.session(), settings().secret_key)
    if opened is None:
        return _pending_login(message, 429)
    return _inbox_page(opened, ReplyForm(), message), 429


@bp.get("/api/v1/towns")
def towns() -> Response | tuple[Response, int]:
    """Towns of one province from the offline gazetteer (for the optional map pin)."""
    from reporter.domain import gazetteer

    province = request.args.get("province", "")
    if province not in PROVINCES:
        return jsonify(error="province must be one of " + ", ".join(PROVINCES)), 400
    resp = jsonify(
        [
            {"id": t.id, "name": t.name, "lat": t.lat, "lon": t.lon}
            for t in gazetteer.towns_in(province)
        ]
    )
    resp.headers["Cache-Control"] = "public, max-age=86400"
    return resp
