"""Partner organisations and referral (issue 17): the server's checks, what a partner may see,
and withdrawal. The browser's part is done here with the Python twin of envelope.js (the same
add_recipient); tests/test_partners_browser.py does it in Chromium."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from nacl.public import PrivateKey
from sqlalchemy import select

from reporter.crypto import envelope
from reporter.models import db
from reporter.models.audit import AuditEvent
from reporter.models.partners import PartnerOrg, PartnerStaff, Referral
from reporter.models.private import Attachment, CaseKey, KeyGrant, Report
from reporter.verify.partners import CANNOT_UNREAD, NO_CONSENT
from tests.support.intake import secrets_of, submit_plain
from tests.support.staff import Member, csrf_of, grant, log_in, make_staff

PHOTO = b"%PDF-1.4 a fine slip SENTINEL-partner-file"


@dataclass
class Partner:
    id: int
    kid: str
    sk: bytes
    pk: bytes


def make_partner(app: Flask, name: str = "Women's Legal Centre") -> Partner:
    """What an admin's browser and the server do together (the key made outside the server)."""
    sk = PrivateKey.generate()
    pk = bytes(sk.public_key)
    with app.app_context():
        sess = db.session()
        org = PartnerOrg(name=name)
        sess.add(org)
        sess.flush()
        recovery = sess.scalars(select(CaseKey).where(CaseKey.scope == "recovery")).one()
        key = CaseKey(
            scope=f"partner:{org.id}",
            kid=envelope.kid(pk),
            public_key=envelope.b64e(pk),
            sealed_secret=envelope.seal(
                {"scope": "partner", "sk": envelope.b64e(bytes(sk))},
                [envelope.b64d(recovery.public_key, 32)],
            ),
        )
        sess.add(key)
        sess.flush()
        org.case_key_id = key.id
        sess.commit()
        return Partner(org.id, key.kid, bytes(sk), pk)


def add_partner_staff(
    app: Flask, partner: Partner, login: str, *, granted: bool = True, with_key: bool = True
) -> Member:
    member = make_staff(app, login, ["partner"], iterations=1000, with_key=with_key)
    with app.app_context():
        sess = db.session()
        sess.add(PartnerStaff(staff_id=member.id, partner_id=partner.id))
        if granted:
            key = sess.scalars(select(CaseKey).where(CaseKey.kid == partner.kid)).one()
            sess.add(
                KeyGrant(
                    case_key_id=key.id,
                    staff_id=member.id,
                    sealed_key=envelope.seal(
                        {"scope": key.scope, "sk": envelope.b64e(partner.sk)}, [member.pk]
                    ),
                )
            )
        sess.commit()
    return member


def logged_in(app: Flask, member: Member) -> FlaskClient:
    client = app.test_client()
    resp = log_in(app, client, member)
    assert resp.status_code == 303, resp.get_data(as_text=True)[:300]
    return client


def post_json(client: FlaskClient, path: str, body: dict[str, Any]) -> Any:
    token = csrf_of(client, "/staff/login")
    return client.post(path, json=body, headers={"X-CSRFToken": token})


def refer_body(
    client: FlaskClient, report_id: str, partner: Partner, holder: bytes, *, consent: Any = None
) -> dict[str, Any]:
    """What referral.js sends: every envelope plus one wrapped key for a fresh referral key."""
    state = client.get(f"/staff/reports/{report_id}/referral.json?items=1").get_json()
    rsk = PrivateKey.generate()
    items = [
        {
            "kind": it["kind"],
            "id": it["id"],
            "env": envelope.add_recipient(it["env"], holder, bytes(rsk)),
        }
        for it in state["items"]
    ]
    return {
        "partner_id": partner.id,
        "consent": {"legal": True} if consent is None else consent,
        "public_key": envelope.b64e(bytes(rsk.public_key)),
        "sealed_key": envelope.seal(
            {"v": 1, "report": report_id, "sk": envelope.b64e(bytes(rsk))}, [partner.pk]
        ),
        "items": items,
    }


@pytest.fixture()
def world(app: Flask) -> dict[str, Any]:
    client = app.test_client()
    submit_plain(
        client,
        narrative="SENTINEL-referred narrative",
        consent_legal="y",
        files=[(PHOTO, "fine.pdf", "application/pdf")],
    )
    submit_plain(app.test_client(), narrative="SENTINEL-not referred")
    with app.app_context():
        reports = db.session().scalars(select(Report).order_by(Report.id)).all()
        with_file = next(r for r in reports if r.attachments)
        other = next(r for r in reports if not r.attachments)
        referred_id, other_id = with_file.id, other.id
    moderator = make_staff(app, "mod-gp", ["moderator"], ["GP"], iterations=1000)
    grant(app, moderator, "GP")
    partner = make_partner(app)
    lawyer = add_partner_staff(app, partner, "wlc-lawyer")
    return {
        "report": referred_id,
        "other": other_id,
        "moderator": moderator,
        "partner": partner,
        "lawyer": lawyer,
        "gp_sk": secrets_of(app)["GP"],
    }


def open_as_partner(data: dict[str, Any], partner: Partner) -> tuple[dict[str, Any], bytes]:
    rsk = envelope.b64d(envelope.open_envelope(data["referral"]["sealed"], partner.sk)["sk"], 32)
    return envelope.open_envelope(data["envelope"], rsk), rsk


def test_refer_without_the_consent_claim_is_refused(app: Flask, world: dict[str, Any]) -> None:
    mod = logged_in(app, world["moderator"])
    for consent in ({"legal": False}, {}, "yes", {"legal": "true"}):
        body = refer_body(mod, world["report"], world["partner"], world["gp_sk"], consent=consent)
        resp = post_json(mod, f"/staff/reports/{world['report']}/refer", body)
        assert resp.status_code == 403 and resp.get_json()["error"] == NO_CONSENT
    with app.app_context():
        assert db.session().scalars(select(Referral)).all() == []


def test_refer_stores_exactly_one_more_recipient(app: Flask, world: dict[str, Any]) -> None:
    mod = logged_in(app, world["moderator"])
    report_id = world["report"]
    with app.app_context():
        before = copy.deepcopy(db.session().get(Report, report_id).envelope)
    body = refer_body(mod, report_id, world["partner"], world["gp_sk"])
    resp = post_json(mod, f"/staff/reports/{report_id}/refer", body)
    assert resp.status_code == 200, resp.get_json()
    with app.app_context():
        sess = db.session()
        report = sess.get(Report, report_id)
        ref = sess.scalars(select(Referral)).one()
        assert report.envelope["keys"][:-1] == before["keys"]
        assert report.envelope["keys"][-1]["kid"] == ref.kid
        assert {k: v for k, v in report.envelope.items() if k != "keys"} == {
            k: v for k, v in before.items() if k != "keys"
        }
        assert all(a.header["keys"][-1]["kid"] == ref.kid for a in report.attachments)
        events = sess.scalars(select(AuditEvent).where(AuditEvent.action == "refer")).all()
        assert len(events) == 1 and "consent.legal=claimed-by-browser" in events[0].object
        # handing out the envelopes to re-seal is an audited `open`; the plain state is not
        opens = sess.scalars(select(AuditEvent.object).where(AuditEvent.action == "open")).all()
        assert opens.count(f"{report_id}:refer") == 1
    assert mod.get(f"/staff/reports/{report_id}/referral.json").get_json()["items"] == []
    with app.app_context():
        assert (
            db.session()
            .scalars(select(AuditEvent.object).where(AuditEvent.action == "open"))
            .all()
            .count(f"{report_id}:refer")
            == 1
        )
    again = post_json(
        mod,
        f"/staff/reports/{report_id}/refer",
        refer_body(mod, report_id, world["partner"], world["gp_sk"]),
    )
    assert again.status_code == 409


def _tampered(body: dict[str, Any], how: str, other_pk: bytes, gp_sk: bytes) -> dict[str, Any]:
    out = copy.deepcopy(body)
    rep = next(i for i in out["items"] if i["kind"] == "report")
    if how == "two_keys":
        rep["env"] = envelope.add_recipient(rep["env"], gp_sk, bytes(PrivateKey.generate()))
    elif how == "ct_changed":
        other = envelope.seal({"v": 1, "narrative": "forged"}, [other_pk])
        rep["env"] = {**rep["env"], "ct": other["ct"]}
    elif how == "key_dropped":
        rep["env"] = {**rep["env"], "keys": rep["env"]["keys"][1:]}
    elif how == "file_missing":
        out["items"] = [i for i in out["items"] if i["kind"] != "attachment"]
    elif how == "other_kid":
        out["public_key"] = envelope.b64e(bytes(PrivateKey.generate().public_key))
    elif how == "sealed_to_someone_else":
        out["sealed_key"] = envelope.seal({"sk": "x"}, [other_pk])
    elif how == "duplicate_item":
        out["items"].append(out["items"][0])
    return out


@pytest.mark.parametrize(
    "how",
    [
        "two_keys",
        "ct_changed",
        "key_dropped",
        "file_missing",
        "other_kid",
        "sealed_to_someone_else",
        "duplicate_item",
    ],
)
def test_refer_refuses_any_other_change(app: Flask, world: dict[str, Any], how: str) -> None:
    mod = logged_in(app, world["moderator"])
    body = refer_body(mod, world["report"], world["partner"], world["gp_sk"])
    bad = _tampered(body, how, bytes(PrivateKey.generate().public_key), world["gp_sk"])
    resp = post_json(mod, f"/staff/reports/{world['report']}/refer", bad)
    assert 400 <= resp.status_code < 500, (how, resp.get_json())
    with app.app_context():
        assert db.session().scalars(select(Referral)).all() == []
    # and the untampered body still goes through: the refusal was for the change
    assert post_json(mod, f"/staff/reports/{world['report']}/refer", body).status_code == 200


def test_partner_reads_the_referred_report_and_nothing_else(
    app: Flask, world: dict[str, Any]
) -> None:
    mod = logged_in(app, world["moderator"])
    report_id = world["report"]
    assert (
        post_json(
            mod,
            f"/staff/reports/{report_id}/refer",
            refer_body(mod, report_id, world["partner"], world["gp_sk"]),
        ).status_code
        == 200
    )
    lawyer = logged_in(app, world["lawyer"])
    home = lawyer.get("/staff/partner").get_data(as_text=True)
    assert report_id[:6] in home and world["other"][:6] not in home
    data = lawyer.get(f"/staff/partner/reports/{report_id}/data").get_json()
    payload, rsk = open_as_partner(data, world["partner"])
    assert payload["narrative"] == "SENTINEL-referred narrative"
    att = data["attachments"][0]
    body = lawyer.get(f"/staff/partner/reports/{report_id}/attachments/{att['id']}").data
    assert envelope.open_attachment(att["header"], body, rsk) == PHOTO
    for path in (
        f"/staff/partner/reports/{world['other']}",
        f"/staff/partner/reports/{world['other']}/data",
        f"/staff/partner/reports/{'0' * 20}/data",
        f"/staff/reports/{report_id}",
        f"/staff/reports/{report_id}/data",
        "/staff/queue",
        "/staff/audit",
        "/staff/exports",
        "/staff/admin",
        "/staff/admin/keys.json",
        f"/staff/reports/{report_id}/referral.json",
    ):
        assert lawyer.get(path).status_code == 403, path
    # the log-in takes her to the referred reports, not the queue
    assert (
        log_in(app, app.test_client(), world["lawyer"])
        .headers["Location"]
        .endswith("/staff/partner")
    )


def test_unrefer_removes_her_access(app: Flask, world: dict[str, Any]) -> None:
    mod = logged_in(app, world["moderator"])
    report_id = world["report"]
    post_json(
        mod,
        f"/staff/reports/{report_id}/refer",
        refer_body(mod, report_id, world["partner"], world["gp_sk"]),
    )
    lawyer = logged_in(app, world["lawyer"])
    data = lawyer.get(f"/staff/partner/reports/{report_id}/data").get_json()
    _payload, rsk = open_as_partner(data, world["partner"])
    page = mod.get(f"/staff/reports/{report_id}").get_data(as_text=True)
    assert "cannot be un-read" in page
    resp = mod.post(
        f"/staff/reports/{report_id}/unrefer",
        data={
            "csrf_token": csrf_of(mod, f"/staff/reports/{report_id}"),
            "partner_id": world["partner"].id,
        },
    )
    assert resp.status_code == 303
    assert CANNOT_UNREAD in mod.get(resp.headers["Location"]).get_data(as_text=True)
    att_id = data["attachments"][0]["id"]
    for path in (
        f"/staff/partner/reports/{report_id}/data",
        f"/staff/partner/reports/{report_id}/attachments/{att_id}",
        f"/staff/partner/reports/{report_id}",
    ):
        assert lawyer.get(path).status_code == 403, path
    assert report_id[:6] not in lawyer.get("/staff/partner").get_data(as_text=True)
    with app.app_context():
        sess = db.session()
        report = sess.get(Report, report_id)
        assert sess.scalars(select(Referral)).all() == []
        # even with the referral key she kept, nothing opens any more
        for env in [report.envelope] + [
            a.header for a in sess.scalars(select(Attachment)) if a.report_id == report_id
        ]:
            assert data["referral"]["kid"] not in {k["kid"] for k in env["keys"]}
        with pytest.raises(envelope.EnvelopeError):
            envelope.open_envelope(report.envelope, rsk)
        # the province key still opens it
        assert envelope.open_envelope(report.envelope, world["gp_sk"])["narrative"]
        actions = [e.action for e in sess.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert actions.count("refer") == 1 and actions.count("unrefer") == 1


def test_partner_key_goes_only_to_its_staff(app: Flask, world: dict[str, Any]) -> None:
    admin = make_staff(app, "admin", ["admin"], iterations=1000)
    other_org = make_partner(app, "Another partner")
    outsider = add_partner_staff(app, other_org, "other-lawyer", granted=False)
    client = logged_in(app, admin)
    with app.app_context():
        sess = db.session()
        key_of = {k.scope: k.id for k in sess.scalars(select(CaseKey).where(CaseKey.active))}
    sealed = envelope.seal({"sk": "x"}, [world["moderator"].pk])
    assert (
        post_json(
            client,
            "/staff/admin/grants",
            {
                "staff_id": world["moderator"].id,
                "case_key_id": key_of[f"partner:{world['partner'].id}"],
                "sealed": sealed,
            },
        ).status_code
        == 403
    )
    for scope in ("GP", "national", f"partner:{world['partner'].id}"):
        resp = post_json(
            client,
            "/staff/admin/grants",
            {
                "staff_id": outsider.id,
                "case_key_id": key_of[scope],
                "sealed": envelope.seal({"sk": "x"}, [outsider.pk]),
            },
        )
        assert resp.status_code == 403, scope
    resp = post_json(
        client,
        "/staff/admin/grants",
        {
            "staff_id": outsider.id,
            "case_key_id": key_of[f"partner:{other_org.id}"],
            "sealed": envelope.seal({"sk": "x"}, [outsider.pk]),
        },
    )
    assert resp.status_code == 200, resp.get_json()
    may = {
        s["login"]: s["may_hold"] for s in client.get("/staff/admin/keys.json").get_json()["staff"]
    }
    assert may["other-lawyer"] == [f"partner:{other_org.id}"]
    # partner staff are not made through the general staff form
    html = client.get("/staff/admin").get_data(as_text=True)
    assert "partner" in html


def test_admin_adds_an_organisation_and_its_staff(app: Flask) -> None:
    admin = make_staff(app, "admin", ["admin"], iterations=1000)
    client = logged_in(app, admin)
    with app.app_context():
        recovery = db.session().scalars(select(CaseKey).where(CaseKey.scope == "recovery")).one()
        rpk = envelope.b64d(recovery.public_key, 32)
    sk = PrivateKey.generate()
    secret = {"scope": "partner", "sk": envelope.b64e(bytes(sk))}
    body = {
        "name": "Women's Legal Centre",
        "public_key": envelope.b64e(bytes(sk.public_key)),
        "sealed_secret": envelope.seal(secret, [rpk]),
        "grant": envelope.seal(secret, [admin.pk]),
    }
    bad = {**body, "sealed_secret": envelope.seal(secret, [admin.pk])}
    assert post_json(client, "/staff/admin/partners", bad).status_code == 400
    resp = post_json(client, "/staff/admin/partners", body)
    assert resp.status_code == 200, resp.get_json()
    assert post_json(client, "/staff/admin/partners", body).status_code == 409
    org_id = resp.get_json()["id"]
    resp = client.post(
        f"/staff/admin/partners/{org_id}/staff",
        data={
            "csrf_token": csrf_of(client, "/staff/admin/partners"),
            "login": "wlc-thandi",
            "password": "a first password for her",
        },
    )
    assert resp.status_code == 303
    page = client.get("/staff/admin/partners").get_data(as_text=True)
    assert "wlc-thandi" in page and "Women&#39;s Legal Centre" in page
    with app.app_context():
        sess = db.session()
        me = sess.scalars(select(KeyGrant).where(KeyGrant.staff_id == admin.id)).one()
        assert envelope.open_envelope(me.sealed_key, admin.sk)["sk"] == secret["sk"]
        ps = sess.scalars(select(PartnerStaff)).one()
        assert ps.partner_id == org_id
    # the general staff form refuses the partner role (no organisation there)
    resp = client.post(
        "/staff/admin",
        data={
            "csrf_token": csrf_of(client, "/staff/admin"),
            "what": "staff",
            "staff-login": "loose-partner",
            "staff-password": "a first password for her",
            "staff-roles": ["partner"],
        },
    )
    assert resp.status_code == 400
    assert "on the Partners page" in resp.get_data(as_text=True)


def test_a_disabled_organisation_opens_nothing(app: Flask, world: dict[str, Any]) -> None:
    mod = logged_in(app, world["moderator"])
    report_id = world["report"]
    body = refer_body(mod, report_id, world["partner"], world["gp_sk"])
    assert post_json(mod, f"/staff/reports/{report_id}/refer", body).status_code == 200
    lawyer = logged_in(app, world["lawyer"])
    assert lawyer.get(f"/staff/partner/reports/{report_id}/data").status_code == 200
    admin = logged_in(app, make_staff(app, "admin", ["admin"], iterations=1000))
    resp = admin.post(
        f"/staff/admin/partners/{world['partner'].id}/disable",
        data={"csrf_token": csrf_of(admin, "/staff/admin/partners")},
    )
    assert resp.status_code == 303
    # her session ended; logged in again, she opens nothing
    assert lawyer.get("/staff/partner").status_code in (302, 401)
    lawyer = logged_in(app, world["lawyer"])
    for path in ("/staff/partner", f"/staff/partner/reports/{report_id}/data"):
        assert lawyer.get(path).status_code == 403, path
    # and nothing more can be referred to it
    state = mod.get(f"/staff/reports/{world['other']}/referral.json").get_json()
    assert world["partner"].id not in {o["id"] for o in state["partners"]}
