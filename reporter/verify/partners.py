"""Partner organisations and their staff, referral and withdrawal of a referral (issue 17).

The model (docs/partners.md):
- An admin adds a partner organisation in her browser: it makes the organisation's X25519 key
  pair, seals the secret to the recovery key and grants it to herself; the server stores the
  public half as a case key of scope `partner:<id>`. She adds the partner's staff (role
  `partner`), who log in with password + TOTP and set up their own key like every staff member;
  she then grants them the organisation's key on the keys page (like any case key).
- A moderator refers a report only when the reporter's consent says the legal partner may see
  it. Only her browser can read that consent (it is inside the envelope): it sends the claim,
  the server records it in the audit (`refer`), and cannot check it.
- Referral re-seals in her browser: a fresh referral key pair; the report's envelope and every
  attachment header gain one wrapped key for it (`add_recipient`); its secret is sealed to the
  organisation's public key. The server checks that each envelope gained exactly that one
  recipient and nothing else changed.
- Withdrawing (`unrefer`) removes the referral's wrapped keys and its sealed secret, so the
  partner can open nothing of it from then on; what her staff already read cannot be un-read.
- A partner sees only the reports referred to her organisation: no queue, no other report, no
  audit log, no exports (every other staff endpoint refuses the role).
"""

from __future__ import annotations

from typing import Any, cast

from flask import Response as FlaskResponse
from flask import abort, jsonify, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import delete, select
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField

from reporter.crypto import envelope
from reporter.domain import policy
from reporter.domain.enums import KeyScope, Role
from reporter.domain.vocabulary import PROVINCES
from reporter.models import audit, db
from reporter.models.partners import PartnerOrg, PartnerStaff, Referral
from reporter.models.private import Attachment, CaseKey, KeyGrant, Report
from reporter.models.staff import Staff
from reporter.services import notify, staffing
from reporter.services.staffing import partner_scope
from reporter.verify import bp
from reporter.verify.forms import StaffForm
from reporter.web.auth import allow, current_staff, may_see_province, revoke_sessions
from reporter.web.json import json_body, json_error

CASEWORK = policy.CASEWORK


class PartnerStaffForm(FlaskForm):
    """A partner's staff account: a name and a first password (the role is always partner)."""

    # the class attributes are unbound fields, which the form binds (the stubs cannot say so)
    login = cast(StringField, StaffForm.login)
    password = cast(PasswordField, StaffForm.password)


NO_CONSENT = (
    "The reporter did not agree that the legal partner may see this report, so it "
    "cannot be referred. Ask her in her inbox first."
)
CANNOT_UNREAD = (
    "Withdrawn. The partner can open nothing more of this report. What her staff "
    "already read or saved cannot be un-read."
)


def _me() -> Staff:
    staff = current_staff()
    assert staff is not None
    return staff


def _org_key(org: PartnerOrg) -> CaseKey | None:
    return db.session().get(CaseKey, org.case_key_id) if org.case_key_id else None


# --- admin: organisations and their staff ----------------------------------------------------


@bp.get("/admin/partners")
@allow(Role.ADMIN)
def partners_page() -> tuple[str, int] | str:
    """Partner organisations and their staff (the organisation's key is made in this browser)."""
    sess = db.session()
    orgs = sess.scalars(select(PartnerOrg).order_by(PartnerOrg.name)).all()
    people = sess.execute(
        select(PartnerStaff.partner_id, Staff)
        .join(Staff, Staff.id == PartnerStaff.staff_id)
        .order_by(Staff.login)
    ).all()
    by_org: dict[int, list[Staff]] = {}
    for pid, person in people:
        by_org.setdefault(pid, []).append(person)
    recovery = sess.scalars(
        select(CaseKey).where(CaseKey.scope == KeyScope.RECOVERY, CaseKey.active.is_(True))
    ).first()
    return render_template(
        "verify/partners.html",
        orgs=orgs,
        by_org=by_org,
        staff_form=PartnerStaffForm(),
        recovery=recovery,
        me=_me(),
    )


@bp.post("/admin/partners")
@allow(Role.ADMIN)
def partner_create() -> tuple[Response, int] | Response:
    """Store a new organisation: its public key, its secret sealed (in the admin's browser) to
    the recovery key, and a grant of it to the admin, so she can grant it to its staff."""
    data = json_body()
    sess = db.session()
    name = " ".join(str(data.get("name", "")).split())
    if not 2 <= len(name) <= 80:
        return json_error("Give the organisation a name (2 to 80 characters).")
    if sess.scalars(select(PartnerOrg).where(PartnerOrg.name == name)).first():
        return json_error("There is already an organisation with that name.", 409)
    me = _me()
    recovery = sess.scalars(
        select(CaseKey).where(CaseKey.scope == KeyScope.RECOVERY, CaseKey.active.is_(True))
    ).first()
    if recovery is None or me.public_key is None:
        return json_error("Set up your key first.", 409)
    try:
        pk = envelope.b64d(str(data.get("public_key", "")), 32)
        sealed_secret = envelope.validate(data.get("sealed_secret"), {recovery.kid})
        grant_env = envelope.validate(
            data.get("grant"), {envelope.kid(envelope.b64d(me.public_key, 32))}
        )
    except envelope.EnvelopeError as exc:
        return json_error(f"The organisation's key was refused: {exc}")
    if sess.scalars(select(CaseKey).where(CaseKey.kid == envelope.kid(pk))).first():
        return json_error("That key is in use already.", 409)
    org = PartnerOrg(name=name)
    sess.add(org)
    sess.flush()
    key = CaseKey(
        scope=partner_scope(org.id),
        kid=envelope.kid(pk),
        public_key=envelope.b64e(pk),
        sealed_secret=sealed_secret,
    )
    sess.add(key)
    sess.flush()
    org.case_key_id = key.id
    sess.add(KeyGrant(case_key_id=key.id, staff_id=me.id, sealed_key=grant_env, granted_by=me.id))
    audit.record(sess, me.id, "partner_create", f"{org.id}:{name}:{key.kid}")
    sess.commit()
    return jsonify(ok=True, id=org.id, kid=key.kid)


@bp.post("/admin/partners/<int:partner_id>/staff")
@allow(Role.ADMIN)
def partner_staff_create(partner_id: int) -> Response | tuple[str, int]:
    """A staff account of a partner organisation (role `partner` only). She enrols her TOTP and
    sets up her key at her first log-in, as every staff member does."""
    sess = db.session()
    org = sess.get(PartnerOrg, partner_id)
    if org is None:
        abort(404)
    form = PartnerStaffForm()
    if not form.validate():
        return redirect(
            url_for(
                "verify.partners_page",
                done="nothing: correct the name and password (at least 12 characters)",
            ),
            code=303,
        )
    assert form.login.data is not None and form.password.data is not None  # DataRequired
    try:  # her own password at first log-in
        staffing.create_partner_staff(
            sess, org, login=form.login.data, password=form.password.data, actor_id=_me().id
        )
    except staffing.StaffRefused as exc:
        why = str(exc).rstrip(".")
        return redirect(
            url_for("verify.partners_page", done=f"nothing: {why[:1].lower()}{why[1:]}"), code=303
        )
    sess.commit()
    return redirect(url_for("verify.partners_page", done="partner staff added"), code=303)


@bp.post("/admin/partners/<int:partner_id>/disable")
@allow(Role.ADMIN)
def partner_disable(partner_id: int) -> Response:
    """Disable (or enable again) an organisation: while disabled its staff open nothing, no
    report can be referred to it, and its key cannot be granted. Existing referrals stay (so
    enabling restores them); withdraw them one by one to remove the wrapped keys."""
    sess = db.session()
    org = sess.get(PartnerOrg, partner_id)
    if org is None:
        abort(404)
    org.disabled = not org.disabled
    for staff_id in sess.scalars(
        select(PartnerStaff.staff_id).where(PartnerStaff.partner_id == org.id)
    ):
        revoke_sessions(sess, staff_id)  # their open sessions end now
    audit.record(
        sess,
        _me().id,
        "staff_update",
        f"partner:{org.id}:{'disabled' if org.disabled else 'enabled'}",
    )
    sess.commit()
    return redirect(
        url_for(
            "verify.partners_page", done=f"{org.name} {'disabled' if org.disabled else 'enabled'}"
        ),
        code=303,
    )


# --- referral by a moderator (re-sealed in her browser) --------------------------------------


def _report_for_casework(report_id: str, *, lock: bool = False) -> Report:
    if len(report_id) > 40:
        abort(404)
    report = db.session().get(Report, report_id, with_for_update=lock or None)
    if report is None:
        abort(404)
    if not may_see_province(_me(), report.province):
        abort(403)
    return report


def _items(report: Report) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [{"kind": "report", "id": report.id, "env": report.envelope}]
    items += [{"kind": "attachment", "id": a.id, "env": a.header} for a in report.attachments]
    return items


@bp.get("/reports/<report_id>/referral.json")
@allow(*CASEWORK)
def referral_state(report_id: str) -> Response:
    """What her browser needs to refer: the partners' public keys, the current referrals, and
    (with ?items=1, right before sealing) the envelopes to re-seal, the report's and each
    attachment header; handing those out is audited as an `open`, like the report's data."""
    report = _report_for_casework(report_id)
    sess = db.session()
    with_items = request.args.get("items") == "1" and report.envelope is not None
    if with_items:
        audit.record(sess, _me().id, "open", f"{report.id}:refer")
        sess.commit()
    orgs = []
    for org in sess.scalars(
        select(PartnerOrg).where(PartnerOrg.disabled.is_(False)).order_by(PartnerOrg.name)
    ):
        key = _org_key(org)
        if key is not None and key.active:
            orgs.append({"id": org.id, "name": org.name, "kid": key.kid, "pk": key.public_key})
    names = {o.id: o.name for o in sess.scalars(select(PartnerOrg))}
    refs = sess.scalars(select(Referral).where(Referral.report_id == report.id)).all()
    return jsonify(
        partners=orgs,
        referrals=[
            {
                "partner_id": r.partner_id,
                "name": names.get(r.partner_id, "?"),
                "referred_on": r.referred_on.isoformat(),
            }
            for r in refs
        ],
        items=_items(report) if with_items else [],
    )


def gained_exactly(stored: dict[str, Any], new: object, kid: str) -> bool:
    """`new` is `stored` plus exactly one wrapped key, for `kid`, appended; nothing else changed."""
    if not isinstance(new, dict) or not isinstance(new.get("keys"), list):
        return False
    old_keys = stored.get("keys", [])
    added = new["keys"][len(old_keys) :]
    same = {k: v for k, v in new.items() if k != "keys"} == {
        k: v for k, v in stored.items() if k != "keys"
    }
    return (
        same
        and new["keys"][: len(old_keys)] == old_keys
        and len(added) == 1
        and isinstance(added[0], dict)
        and added[0].get("kid") == kid
    )


def _refuse(message: str, code: int = 400) -> tuple[Response, int]:
    db.session().rollback()
    return json_error(message, code)


class _Refusal(Exception):
    """A referral refused: the message for her browser and the HTTP status."""

    def __init__(self, message: str, code: int = 400) -> None:
        super().__init__(message)
        self.code = code


def _partner_to_refer_to(report: Report, data: dict[str, Any]) -> tuple[PartnerOrg, CaseKey]:
    """The enabled organisation named by partner_id, with its active key, not referred yet."""
    try:
        org = db.session().get(PartnerOrg, int(data.get("partner_id", 0)))
    except (TypeError, ValueError) as exc:
        raise _Refusal("partner_id must be a number.") from exc
    key = _org_key(org) if org is not None and not org.disabled else None
    if org is None or key is None or not key.active:
        raise _Refusal("No such partner organisation.", 404)
    if (
        db.session()
        .scalars(
            select(Referral).where(Referral.report_id == report.id, Referral.partner_id == org.id)
        )
        .first()
    ):
        raise _Refusal(f"This report is referred to {org.name} already.", 409)
    return org, key


def _referral_key(data: dict[str, Any], key: CaseKey) -> tuple[bytes, dict[str, Any]]:
    """The fresh referral public key and its secret, sealed to the organisation's key only."""
    try:
        rpk = envelope.b64d(str(data.get("public_key", "")), 32)
        sealed = envelope.validate(data.get("sealed_key"), {key.kid})
    except envelope.EnvelopeError as exc:
        raise _Refusal(f"The referral key was refused: {exc}") from exc
    if len(sealed["keys"]) != 1:
        raise _Refusal("The referral key must be sealed to the partner organisation only.")
    if db.session().scalars(select(CaseKey).where(CaseKey.kid == envelope.kid(rpk))).first():
        raise _Refusal("The referral key must be a fresh key.")
    return rpk, sealed


def _resealed(report: Report, items: object, rkid: str) -> dict[tuple[str, str], Any]:
    """The re-sealed envelopes sent, by (kind, id): exactly the report's and each of its
    files', each the stored one plus one wrapped key for the referral and nothing else."""
    if not isinstance(items, list):
        raise _Refusal("Send the re-sealed envelopes as a list of items.")
    sent: dict[tuple[Any, Any], Any] = {
        (i.get("kind"), i.get("id")): i.get("env") for i in items if isinstance(i, dict)
    }
    expected = {(i["kind"], i["id"]): i for i in _items(report)}
    if len(sent) != len(items) or set(sent) != set(expected):
        raise _Refusal("Send exactly the report's envelope and each of its files, once each.")
    for ident, new in sent.items():
        stored = expected[ident]["env"]
        if not gained_exactly(stored, new, rkid):
            raise _Refusal(
                "A re-sealed envelope must add exactly one key, for the referral, "
                "and change nothing else. Reload the page and try again.",
                409,
            )
        required = {k["kid"] for k in stored["keys"]} | {rkid}
        try:
            if ident[0] == "attachment":
                envelope.validate_attachment_header(new, required)
            else:
                envelope.validate(new, required)
        except envelope.EnvelopeError as exc:
            raise _Refusal(f"A re-sealed envelope was refused: {exc}") from exc
    return sent


@bp.post("/reports/<report_id>/refer")
@allow(*CASEWORK)
def refer(report_id: str) -> tuple[Response, int] | Response:
    """Refer a report to a partner: store the re-sealed envelopes and the referral key sealed to
    the partner organisation. Her browser claims the reporter's consent; the claim is audited."""
    sess = db.session()
    report = _report_for_casework(report_id, lock=True)  # no rotation re-wrap in between
    data = json_body()
    consent = data.get("consent")
    if not isinstance(consent, dict) or consent.get("legal") is not True:
        return _refuse(NO_CONSENT, 403)
    if report.envelope is None:
        return _refuse("This report's content was deleted; there is nothing to refer.", 409)
    try:
        org, key = _partner_to_refer_to(report, data)
        rpk, sealed = _referral_key(data, key)
        rkid = envelope.kid(rpk)
        sent = _resealed(report, data.get("items"), rkid)
    except _Refusal as exc:
        return _refuse(str(exc), exc.code)
    report.envelope = sent[("report", report.id)]
    for att in report.attachments:
        att.header = sent[("attachment", att.id)]
    me = _me()
    sess.add(
        Referral(
            report_id=report.id,
            partner_id=org.id,
            kid=rkid,
            public_key=envelope.b64e(rpk),
            sealed_key=sealed,
            referred_by=me.id,
        )
    )
    audit.record(
        sess,
        me.id,
        "refer",
        f"{report.id}->{org.id}:{org.name}:{rkid}:consent.legal=claimed-by-browser",
    )
    sess.commit()
    notify.notice(
        sess.scalars(select(PartnerStaff.staff_id).where(PartnerStaff.partner_id == org.id)).all()
    )
    return jsonify(ok=True, message=f"Referred to {org.name}.")


def strip_kid(env: dict[str, Any], kid: str) -> dict[str, Any]:
    """The envelope without the wrapped key for `kid` (a new object, so the change is saved)."""
    return {**env, "keys": [k for k in env.get("keys", []) if k.get("kid") != kid]}


@bp.post("/reports/<report_id>/unrefer")
@allow(*CASEWORK)
def unrefer(report_id: str) -> Response | tuple[Response, int]:
    """Withdraw a referral: its wrapped keys and its sealed secret are deleted. What the partner
    already read cannot be un-read (said on the page and in docs/partners.md)."""
    sess = db.session()
    report = _report_for_casework(report_id, lock=True)
    if request.is_json:
        raw = (request.get_json(silent=True) or {}).get("partner_id")
    else:
        raw = request.form.get("partner_id")
    try:
        partner_id = int(raw or 0)
    except (TypeError, ValueError):
        abort(400)
    ref = sess.scalars(
        select(Referral).where(Referral.report_id == report.id, Referral.partner_id == partner_id)
    ).first()
    if ref is None:
        abort(404)
    if report.envelope:
        report.envelope = strip_kid(report.envelope, ref.kid)
    for att in report.attachments:
        att.header = strip_kid(att.header, ref.kid)
    sess.execute(delete(Referral).where(Referral.id == ref.id))
    audit.record(sess, _me().id, "unrefer", f"{report.id}->{partner_id}:{ref.kid}")
    sess.commit()
    if request.is_json:
        return jsonify(ok=True, message=CANNOT_UNREAD)
    return redirect(
        url_for("verify.report_page", report_id=report.id, done=CANNOT_UNREAD), code=303
    )


# --- the partner's side: referred reports only ------------------------------------------------


def _my_org() -> PartnerOrg:
    org = staffing.partner_of(db.session(), _me())
    if org is None or org.disabled:
        abort(403)
    return org


def _referral_or_403(report_id: str) -> tuple[Report, Referral]:
    """The report, only while it is referred to her organisation (else 403, whether or not it
    exists: a partner learns nothing about other reports)."""
    org = _my_org()
    if len(report_id) > 40:
        abort(403)
    ref = (
        db.session()
        .scalars(
            select(Referral).where(Referral.report_id == report_id, Referral.partner_id == org.id)
        )
        .first()
    )
    report = db.session().get(Report, report_id) if ref else None
    if ref is None or report is None:
        abort(403)
    return report, ref


@bp.get("/partner")
@allow(Role.PARTNER)
def partner_home() -> str:
    """The reports referred to her organisation (and nothing else)."""
    org = _my_org()
    rows = (
        db.session()
        .execute(
            select(Referral, Report)
            .join(Report, Report.id == Referral.report_id)
            .where(Referral.partner_id == org.id)
            .order_by(Referral.referred_on.desc(), Report.id)
        )
        .all()
    )
    return render_template("verify/partner_home.html", org=org, rows=rows, provinces=PROVINCES)


@bp.get("/partner/reports/<report_id>")
@allow(Role.PARTNER)
def partner_report(report_id: str) -> str:
    from reporter.verify.queue import _labels, short_ref

    report, ref = _referral_or_403(report_id)
    return render_template(
        "verify/partner_report.html",
        report=report,
        ref=ref,
        org=_my_org(),
        provinces=PROVINCES,
        labels=_labels(),
        short_ref=short_ref,
    )


@bp.get("/partner/reports/<report_id>/data")
@allow(Role.PARTNER)
def partner_report_data(report_id: str) -> Response:
    """The referred report's envelope, its files' headers and the referral key sealed to her
    organisation (audited as an `open`). Messages and staff notes are not referred."""
    report, ref = _referral_or_403(report_id)
    audit.record(db.session(), _me().id, "open", f"{report.id}:referral")
    db.session().commit()
    return jsonify(
        id=report.id,
        received_on=report.received_on.isoformat(),
        province=report.province,
        envelope=report.envelope,
        referral={"kid": ref.kid, "sealed": ref.sealed_key},
        attachments=[
            {"id": a.id, "header": a.header, "size": len(a.body)} for a in report.attachments
        ],
    )


@bp.get("/partner/reports/<report_id>/attachments/<attachment_id>")
@allow(Role.PARTNER)
def partner_attachment(report_id: str, attachment_id: str) -> Response:
    report, _ref = _referral_or_403(report_id)
    att = db.session().get(Attachment, attachment_id[:40])
    if att is None or att.report_id != report.id:
        abort(404)
    audit.record(db.session(), _me().id, "open_attachment", f"{report.id}/{att.id}:referral")
    db.session().commit()
    return FlaskResponse(att.body, mimetype="application/octet-stream")


def referrals_of(report_id: str) -> list[dict[str, Any]]:
    sess = db.session()
    names = {o.id: o.name for o in sess.scalars(select(PartnerOrg))}
    return [
        {
            "partner_id": r.partner_id,
            "name": names.get(r.partner_id, "?"),
            "referred_on": r.referred_on.isoformat(),
        }
        for r in sess.scalars(
            select(Referral).where(Referral.report_id == report_id).order_by(Referral.id)
        )
    ]


@bp.context_processor
def _templates() -> dict[str, Any]:
    return {"referrals_of": referrals_of}


# --- notification choices (reporter/services/notify.py) ------------------------------------

ALL_STAFF = tuple(Role)


@bp.route("/notifications", methods=["GET", "POST"])
@allow(*ALL_STAFF)
def notifications() -> Any:
    """Her email address (stored sealed) and what she gets: a daily message always, only on
    days with something new, or none; and notices of assignments, answers and referrals."""
    from reporter.models.partners import DIGEST_CHOICES, StaffNotify

    sess = db.session()
    me = _me()
    row = sess.get(StaffNotify, me.id)
    error = None
    if request.method == "POST":
        address = request.form.get("email", "").strip()
        digest = request.form.get("digest", "off")
        if digest not in DIGEST_CHOICES:
            error = "Choose one of the three daily choices."
        elif address and (
            len(address) > 254
            or "@" not in address
            or any(c.isspace() or c in "<>,;\"'" for c in address)
        ):
            error = "That does not look like an email address."
        else:
            if row is None:
                row = StaffNotify(staff_id=me.id)
                sess.add(row)
            row.email = address or None
            row.digest = digest
            row.notices = request.form.get("notices") == "y"
            audit.record(sess, me.id, "notify_settings", f"{me.login}:{digest}")
            sess.commit()
            return redirect(url_for("verify.notifications", done="saved"), code=303)
    settings = notify.current_settings()
    return render_template(
        "verify/notifications.html",
        row=row,
        error=error,
        enabled=bool(settings.smtp_url),
        hour=settings.digest_hour,
    ), 400 if error else 200
