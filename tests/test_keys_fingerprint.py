"""Key-directory substitution (audit finding 13.4): the browser seals case keys to the public
key the server lists for a colleague, and seals reports' notes and messages to the case keys
the server lists. So: fingerprints on the grant page and on her own page; a grant goes out only
after the granter typed the fingerprint her colleague read to her; a key that changed since is
asked again; case keys the staff browser holds or has seen are pinned, and a different one is
a warning that stops sealing until she accepts it.

Cost: about 20 s (Chromium, Argon2id log-ins).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from nacl.public import PrivateKey
from sqlalchemy import select, update

from reporter.crypto import envelope
from reporter.models import db
from reporter.models.private import CaseKey, KeyGrant, Message, Report
from reporter.models.staff import Staff
from reporter.verify.password import fingerprint
from tests.support.browser import Watch, chromium, live_server
from tests.support.intake import submit_plain
from tests.support.staff import PASSPHRASE, fresh_code, grant, make_staff
from tests.test_staff_browser import Moderator

SHOTS = str(Path(tempfile.gettempdir()) / "keys-{}.png")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def test_fingerprint_is_sha512_of_the_key_in_groups_and_starts_with_the_kid() -> None:
    pk = bytes(PrivateKey.generate().public_key)
    fp = fingerprint(envelope.b64e(pk))
    assert fp is not None
    groups = fp.split(" ")
    assert len(groups) == 8 and all(len(g) == 4 for g in groups)
    assert "".join(groups) == hashlib.sha512(pk).hexdigest()[:32]
    assert "".join(groups).startswith(envelope.kid(pk))


def _unlock(page: Any) -> None:
    page.fill("#passphrase", PASSPHRASE)
    page.click("#unlock-form button[type=submit]")
    page.wait_for_selector("#lock-state:has-text('Unlocked')", timeout=20000)


def _grants_to(app: Flask, staff_id: int) -> list[KeyGrant]:
    with app.app_context():
        return list(db.session().scalars(select(KeyGrant).where(KeyGrant.staff_id == staff_id)))


@pytest.mark.browser
def test_a_grant_needs_the_fingerprint_read_out_of_band(app: Flask, browser: Any) -> None:
    boss = make_staff(app, "boss", ["coordinator"], iterations=1000)
    grant(app, boss, "GP")
    mod = make_staff(app, "mod-gp", ["moderator"], ["GP"], iterations=1000)
    true_fp = fingerprint(envelope.b64e(mod.pk))
    assert true_fp is not None
    with live_server(app) as base:
        # Her own page shows her fingerprint, checked against her own unlocked key
        mctx = browser.new_context()
        mpage = mctx.new_page()
        Moderator(mpage, base).logs_in(mod.login, fresh_code(app, mod))
        mpage.goto(base + "/staff/account")
        assert mpage.inner_text("#my-fingerprint") == true_fp
        assert "Unlock your key" in mpage.inner_text("#my-fingerprint-check")
        mpage.evaluate(f"sessionStorage.setItem('staff.sk', '{envelope.b64e(mod.sk)}')")
        mpage.reload()
        assert "Checked against your own key" in mpage.inner_text("#my-fingerprint-check")
        mpage.screenshot(path=SHOTS.format("own-fingerprint"), full_page=True)
        mctx.close()

        ctx = browser.new_context()
        page = ctx.new_page()
        watch = Watch.on(page)
        Moderator(page, base).logs_in(boss.login, fresh_code(app, boss))
        page.goto(base + "/staff/admin/keys")
        _unlock(page)
        button = "button.grant[data-staff='mod-gp'][data-scope='GP']"
        page.wait_for_selector(button, timeout=20000)
        assert true_fp in page.inner_text("#grant-table")
        # When the granter types a fingerprint that is not the listed key's: nothing goes out
        page.once("dialog", lambda d: d.accept("0000 1111 2222 3333 4444 5555 6666 7777"))
        page.click(button)
        page.wait_for_selector("#keys-status:has-text('does not match')", timeout=20000)
        assert _grants_to(app, mod.id) == []
        # and cancelling the question sends nothing either
        page.once("dialog", lambda d: d.dismiss())
        page.click(button)
        assert _grants_to(app, mod.id) == []
        # When she types what her colleague read to her (spaces and case do not matter)
        page.once("dialog", lambda d: d.accept(true_fp.upper().replace(" ", "")))
        page.click(button)
        page.wait_for_selector("#keys-status:has-text('Granted GP to mod-gp')", timeout=20000)
        (first,) = _grants_to(app, mod.id)
        assert envelope.open_envelope(first.sealed_key, mod.sk)["scope"] == "GP"
        page.wait_for_selector("#grant-table:has-text('(confirmed)')", timeout=20000)
        page.screenshot(path=SHOTS.format("grant-confirmed"), full_page=True)

        # When the server then lists a false key for her (a compromised key directory)
        thief = PrivateKey.generate()
        with app.app_context():
            db.session().execute(
                update(Staff)
                .where(Staff.id == mod.id)
                .values(public_key=envelope.b64e(bytes(thief.public_key)))
            )
            db.session().commit()
        page.reload()
        page.wait_for_selector(button, timeout=20000)
        # Then the page says her key changed, and asks again; her true fingerprint fails
        assert "CHANGED since you confirmed it" in page.inner_text("#grant-table")
        asked: list[str] = []

        def answer(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.accept(true_fp)

        page.once("dialog", answer)
        page.click(button)
        page.wait_for_selector("#keys-status:has-text('does not match')", timeout=20000)
        assert asked and "mod-gp" in asked[0]
        page.screenshot(path=SHOTS.format("grant-refused"), full_page=True)
        # and nothing was sealed to the thief's key
        (still,) = _grants_to(app, mod.id)
        assert still.sealed_key == first.sealed_key
        with pytest.raises(envelope.EnvelopeError):
            envelope.open_envelope(still.sealed_key, bytes(thief))
        assert not watch.errors and not watch.csp_violations(), watch.console
        ctx.close()


@pytest.mark.browser
def test_the_staff_page_pins_case_keys_and_seals_nothing_to_a_swapped_one(
    app: Flask, browser: Any
) -> None:
    mod = make_staff(app, "thandi", ["moderator"], ["GP"], iterations=1000)
    grant(app, mod, "GP")
    submit_plain(app.test_client(), "They took my money.")
    with app.app_context():
        report_id = db.session().scalars(select(Report.id)).one()
    with live_server(app) as base:
        ctx = browser.new_context()
        page = ctx.new_page()
        watch = Watch.on(page)
        posts: list[str] = []
        page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
        desk = Moderator(page, base)
        desk.logs_in(mod.login, fresh_code(app, mod))
        # Given she opened a report once: its keys are fine (GP is hers; others pinned now)
        desk.opens_report(report_id, PASSPHRASE)
        assert page.locator("#key-warning").is_hidden()
        pins = page.evaluate("JSON.parse(localStorage.getItem('staff.pins.v1'))")
        with app.app_context():
            kids = {
                k.scope: k.kid for k in db.session().scalars(select(CaseKey).where(CaseKey.active))
            }
        assert pins == {
            "GP": kids["GP"],
            "national": kids["national"],
            "recovery": kids["recovery"],
        }

        # When the server swaps the Gauteng case key (hers) and the recovery key (pinned)
        fake_gp, fake_rec = PrivateKey.generate(), PrivateKey.generate()
        with app.app_context():
            for scope, fake in (("GP", fake_gp), ("recovery", fake_rec)):
                pk = bytes(fake.public_key)
                db.session().execute(
                    update(CaseKey)
                    .where(CaseKey.scope == scope, CaseKey.active)
                    .values(public_key=envelope.b64e(pk), kid=envelope.kid(pk))
                )
            db.session().commit()
        page.reload()
        page.wait_for_selector("#key-warning:not([hidden])", timeout=20000)
        warning = page.inner_text("#key-warning")
        page.screenshot(path=SHOTS.format("key-warning"), full_page=True)
        # Then she is warned about both, with the new fingerprints
        assert "GP key" in warning and "not the one granted to you" in warning
        assert "different recovery key" in warning
        gp_fp = fingerprint(envelope.b64e(bytes(fake_gp.public_key)))
        assert gp_fp is not None and gp_fp in warning
        # and a staff note is not sealed or sent to the swapped keys
        before = len(posts)
        page.fill("#reason", "should not go anywhere")
        page.click("#status-form button[value=needs_info]")
        page.wait_for_selector("#status-note:has-text('key warning')", timeout=20000)
        assert len(posts) == before
        with app.app_context():
            assert db.session().scalars(select(Message)).all() == []
        assert not watch.errors and not watch.csp_violations(), watch.console

        # When she accepts the new recovery key (checked with a coordinator), that warning goes
        page.click("button.accept-key:has-text('recovery')")
        warning = page.inner_text("#key-warning")
        assert "recovery" not in warning and "GP key" in warning
        ctx.close()
