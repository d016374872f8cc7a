"""Admin: staff accounts, site content, key grants (made in the browser), the audit log."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select, text, update
from werkzeug.wrappers import Response

from reporter.crypto import envelope
from reporter.domain.enums import KeyScope, Role
from reporter.domain.vocabulary import PROVINCES
from reporter.models import audit, db
from reporter.models.private import Attachment, CaseKey, KeyGrant, Message, Report
from reporter.models.public import SiteContent
from reporter.models.staff import Staff
from reporter.services import staffing
from reporter.verify import bp
from reporter.verify.forms import ContentForm, StaffForm
from reporter.web import content, i18n
from reporter.web.auth import allow, current_staff
from reporter.web.json import json_body, json_error

SCOPES = (KeyScope.NATIONAL, KeyScope.RECOVERY, *PROVINCES)


def _me() -> Staff:
    staff = current_staff()
    assert staff is not None
    return staff


@bp.route("/admin", methods=["GET", "POST"])
@allow(Role.ADMIN)
def admin() -> Any:
    """Staff accounts and site content."""
    sess = db.session()
    form = StaffForm(prefix="staff")
    content_form = ContentForm(prefix="content")
    error = None
    if request.method == "POST":
        if request.form.get("what") == "staff" and form.validate():
            assert form.login.data is not None and form.password.data is not None  # DataRequired
            try:  # she chooses her own password at her first log-in
                staffing.create_staff(
                    sess,
                    login=form.login.data,
                    roles=form.roles.data or [],
                    provinces=form.provinces.data or [],
                    password=form.password.data,
                    actor_id=_me().id,
                )
            except staffing.StaffRefused as exc:
                error = str(exc)
            else:
                sess.commit()
                return redirect(url_for("verify.admin", done="staff"), code=303)
        elif request.form.get("what") == "content" and content_form.validate():
            clean = content.sanitise(content_form.html.data or "")
            key, lang = content_form.key.data, content_form.lang.data
            row = sess.get(SiteContent, (key, lang))
            if row is None:
                sess.add(SiteContent(key=key, lang=lang, html=clean))
            else:
                row.html = clean
            audit.record(sess, _me().id, "content_update", f"{key}:{lang}")
            sess.commit()
            return redirect(url_for("verify.admin", done="content"), code=303)
        else:
            error = "Please correct the marked fields."
    staff_rows = sess.scalars(select(Staff).order_by(Staff.login)).all()
    blocks = {
        f"{row.key} ({row.lang})": row.html
        for row in sess.scalars(select(SiteContent).order_by(SiteContent.key, SiteContent.lang))
    }
    return render_template(
        "verify/admin.html",
        form=form,
        content_form=content_form,
        staff=staff_rows,
        blocks=blocks,
        error=error,
        catalogs=i18n.catalog_table(),
    ), 400 if error else 200


@bp.post("/admin/staff/<int:staff_id>/disable")
@allow(Role.ADMIN)
def disable_staff(staff_id: int) -> Response:
    """Disable (or re-enable) an account; her grants stay until revoked."""
    staff = db.session().get(Staff, staff_id)
    if staff is None:
        abort(404)
    try:  # her open sessions end now, and stay ended
        staffing.toggle_disabled(db.session(), staff, _me().id)
    except staffing.StaffRefused:
        abort(400)
    db.session().commit()
    return redirect(url_for("verify.admin"), code=303)


@bp.post("/admin/staff/<int:staff_id>/reset-key")
@allow(Role.ADMIN)
def reset_key(staff_id: int) -> Response:
    """For a lost passphrase: drop her key and grants; she makes a new key at next log-in and
    a coordinator grants her case keys again. Reports stay readable (other holders, recovery)."""
    sess = db.session()
    staff = sess.get(Staff, staff_id)
    if staff is None:
        abort(404)
    staffing.reset_key(sess, staff, _me().id)
    sess.commit()
    return redirect(url_for("verify.admin", done="key reset"), code=303)


@bp.get("/admin/keys")
@allow(Role.ADMIN, Role.COORDINATOR)
def keys_page() -> str:
    """Grant, revoke and rotate case keys (sealing happens in this browser)."""
    return render_template("verify/keys.html")


@bp.get("/admin/keys.json")
@allow(Role.ADMIN, Role.COORDINATOR)
def keys_state() -> Response:
    sess = db.session()
    keys = sess.scalars(select(CaseKey).order_by(CaseKey.scope, CaseKey.id)).all()
    people = sess.scalars(
        select(Staff).where(Staff.disabled.is_(False)).order_by(Staff.login)
    ).all()
    grants = sess.scalars(select(KeyGrant)).all()
    return jsonify(
        case_keys=[
            {
                "id": k.id,
                "scope": k.scope,
                "kid": k.kid,
                "pk": k.public_key,
                "active": k.active,
                "sealed_secret": k.sealed_secret,
            }
            for k in keys
        ],
        staff=[
            {
                "id": s.id,
                "login": s.login,
                "roles": s.roles,
                "provinces": s.provinces,
                "public_key": s.public_key,
                "may_hold": sorted(staffing.scopes_allowed(sess, s)),
            }
            for s in people
        ],
        grants=[{"id": g.id, "case_key_id": g.case_key_id, "staff_id": g.staff_id} for g in grants],
    )


@bp.post("/admin/grants")
@allow(Role.ADMIN, Role.COORDINATOR)
def grant() -> tuple[Response, int] | Response:
    """Store a case key sealed (in the granter's browser) to a staff member's public key."""
    data = json_body()
    sess = db.session()
    try:
        target = sess.get(Staff, int(data.get("staff_id", 0)))
        key = sess.get(CaseKey, int(data.get("case_key_id", 0)))
    except (TypeError, ValueError):
        return json_error("staff_id and case_key_id must be numbers.")
    if target is None or key is None:
        return json_error("No such staff member or case key.", 404)
    try:  # the same rules as every grant (the demo's too)
        staffing.grant(sess, key, target, data.get("sealed"), _me().id)
    except staffing.StaffRefused as exc:
        return json_error(str(exc), exc.status)
    sess.commit()
    return jsonify(ok=True)


@bp.post("/admin/grants/<int:grant_id>/revoke")
@allow(Role.ADMIN, Role.COORDINATOR)
def revoke(grant_id: int) -> Response:
    """Revoking deletes the grant (rotate the key too if her device may be compromised)."""
    sess = db.session()
    row = sess.get(KeyGrant, grant_id)
    if row is None:
        abort(404)
    target = sess.get(Staff, row.staff_id)
    key = sess.get(CaseKey, row.case_key_id)
    sess.delete(row)
    audit.record(
        sess, _me().id, "revoke", f"{key.scope if key else '?'}->{target.login if target else '?'}"
    )
    sess.commit()
    if request.is_json or request.accept_mimetypes.best == "application/json":
        return jsonify(ok=True)
    return redirect(url_for("verify.keys_page"), code=303)


@bp.post("/admin/keys/rotate")
@allow(Role.ADMIN, Role.COORDINATOR)
def rotate() -> tuple[Response, int] | Response:
    """A new case key for a scope, made in the browser: its secret sealed to the recovery key
    and granted to the rotating admin. New reports use it; old ones keep the old key until
    re-wrapped."""
    data = json_body()
    scope = data.get("scope")
    if scope not in SCOPES or scope == KeyScope.RECOVERY:
        return json_error("Unknown scope.")
    sess = db.session()
    recovery = sess.scalars(
        select(CaseKey).where(CaseKey.scope == KeyScope.RECOVERY, CaseKey.active.is_(True))
    ).first()
    me = _me()
    if recovery is None or me.public_key is None:
        return json_error("Set up your key first.", 409)
    try:
        pk = envelope.b64d(str(data.get("public_key", "")), 32)
        sealed_secret = envelope.validate(data.get("sealed_secret"), {recovery.kid})
        grant_env = envelope.validate(
            data.get("grant"), {envelope.kid(envelope.b64d(me.public_key, 32))}
        )
    except envelope.EnvelopeError as exc:
        return json_error(f"The new key was refused: {exc}")
    # rotations of one scope one at a time: the later one wins, one key stays active
    sess.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"rotate:{scope}"})
    sess.execute(
        update(CaseKey).where(CaseKey.scope == scope, CaseKey.active.is_(True)).values(active=False)
    )
    new = CaseKey(
        scope=scope, kid=envelope.kid(pk), public_key=envelope.b64e(pk), sealed_secret=sealed_secret
    )
    sess.add(new)
    sess.flush()
    sess.add(KeyGrant(case_key_id=new.id, staff_id=me.id, sealed_key=grant_env, granted_by=me.id))
    audit.record(sess, me.id, "rotate", f"{scope}:{new.kid}")
    sess.commit()
    return jsonify(ok=True, kid=new.kid)


REWRAP_BATCH = 100
_KINDS = {
    "report": (Report, "envelope"),
    "attachment": (Attachment, "header"),
    "message": (Message, "envelope"),
}


def _active_key(scope: str) -> CaseKey | None:
    return (
        db.session()
        .scalars(select(CaseKey).where(CaseKey.scope == scope, CaseKey.active.is_(True)))
        .first()
    )


def _stale_items(scope: str, active: CaseKey) -> list[dict[str, Any]]:
    """Envelopes of the scope's reports that the active key cannot open yet."""
    q = select(Report).where(Report.envelope.is_not(None))
    if scope != KeyScope.NATIONAL:
        q = q.where(Report.province == scope)
    items: list[dict[str, Any]] = []
    for report in db.session().scalars(q.order_by(Report.received_on)):
        parts: list[tuple[str, str | int, dict[str, Any] | None]] = [
            ("report", report.id, report.envelope)
        ]
        parts += [("attachment", a.id, a.header) for a in report.attachments]
        parts += [("message", m.id, m.envelope) for m in report.messages]
        for kind, ident, env in parts:
            if env and active.kid not in {k.get("kid") for k in env.get("keys", [])}:
                items.append({"kind": kind, "id": ident, "env": env})
        if len(items) >= REWRAP_BATCH:
            break
    return items


@bp.get("/admin/rewrap.json")
@allow(Role.ADMIN, Role.COORDINATOR)
def rewrap_state() -> tuple[Response, int] | Response:
    """After a rotation: the envelopes to re-wrap in the browser for the scope's new key."""
    scope = request.args.get("scope", "")
    active = _active_key(scope) if scope in SCOPES and scope != KeyScope.RECOVERY else None
    if active is None:
        return json_error("Unknown scope.")
    return jsonify(
        scope=scope,
        active={"id": active.id, "kid": active.kid, "pk": active.public_key},
        items=_stale_items(scope, active),
    )


@bp.post("/admin/rewrap")
@allow(Role.ADMIN, Role.COORDINATOR)
def rewrap() -> tuple[Response, int] | Response:
    """Store re-wrapped envelopes: each must equal the stored one plus exactly one wrapped key
    for the scope's active key (the server checks the shape; it cannot open anything)."""
    data = json_body()
    scope = data.get("scope")
    active = _active_key(scope) if scope in SCOPES and scope != KeyScope.RECOVERY else None
    items = data.get("items")
    if active is None or not isinstance(items, list) or len(items) > 5 * REWRAP_BATCH:
        return json_error("Send a scope and a list of items.")
    sess = db.session()
    changed = 0
    for item in items:
        if not isinstance(item, dict) or item.get("kind") not in _KINDS:
            return json_error("Each item needs a kind (report, attachment, message).")
        model, column = _KINDS[item["kind"]]
        row = sess.get(model, item.get("id")) if isinstance(item.get("id"), str | int) else None
        if row is None:
            return json_error("An item does not exist.", 404)
        stored, new = getattr(row, column), item.get("env")
        if not isinstance(new, dict) or not isinstance(new.get("keys"), list):
            return json_error("An item's envelope is malformed.")
        added = new["keys"][len(stored["keys"]) :]
        same = {k: v for k, v in new.items() if k != "keys"} == {
            k: v for k, v in stored.items() if k != "keys"
        }
        if (
            not same
            or new["keys"][: len(stored["keys"])] != stored["keys"]
            or len(added) != 1
            or not isinstance(added[0], dict)
            or added[0].get("kid") != active.kid
        ):
            return json_error(
                "A re-wrapped envelope must add exactly one key for the new "
                "case key and change nothing else."
            )
        try:
            if item["kind"] == "attachment":
                envelope.validate_attachment_header(new, {active.kid})
            else:
                envelope.validate(new, {active.kid})
        except envelope.EnvelopeError as exc:
            return json_error(f"A re-wrapped envelope was refused: {exc}")
        setattr(row, column, new)
        changed += 1
    audit.record(sess, _me().id, "rotate", f"{scope}:{active.kid}:rewrapped={changed}")
    sess.commit()
    return jsonify(ok=True, changed=changed)


@bp.get("/audit")
@allow(Role.ADMIN)
def audit_page() -> str:
    """The audit log and whether its chain holds."""
    from reporter.models.audit import AuditEvent

    sess = db.session()
    verdict = audit.verify(sess)
    events = sess.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(300)).all()
    logins = {s.id: s.login for s in sess.scalars(select(Staff))}
    return render_template("verify/audit.html", verdict=verdict, events=events, logins=logins)
