"""The reporter's journey with JavaScript on, as she lives it: a cheap Android phone (360x640)
on 2G (emulated through the Chrome DevTools protocol), photos with hidden location, a network
that drops mid-upload, a double tap, a reload, Back, Quick exit, a language switch mid-form,
and an answer in her inbox. Each story does what she does, in order, in Debian's Chromium.

Screenshots land in /tmp/reporter-story-*.png, to be looked at by a person."""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import brotli
import pytest
from flask import Flask
from PIL import ExifTags, Image
from sqlalchemy import select

from reporter.crypto import envelope
from reporter.models import db
from reporter.models.private import Attachment, Message, Report
from tests.support import pages
from tests.support.browser import CHROMIUM, chromium, live_server
from tests.support.dates import REPORTED
from tests.support.intake import receipt_of, secrets_of, submit_plain
from tests.support.pages import record_posts

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
    pytest.mark.browser,
]

SENTINEL = "SENTINEL-Story-8w3j"
PHONE = "SM-A045F-Story"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def gps_photo(width: int, height: int, noisy: bool = False) -> bytes:
    """A phone photo: GPS position, phone model and time in its EXIF."""
    if noisy:  # a photo that does not compress (a real scene), so the upload takes a while
        image = Image.frombytes(
            "RGB",
            (width, height),
            bytes((i * 7919 + (i >> 7) * 104729) % 251 for i in range(width * height * 3)),
        )
    else:
        image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    exif = Image.Exif()
    exif[ExifTags.Base.Model] = PHONE
    exif[ExifTags.Base.DateTime] = "2026:10:03 23:41:07"
    exif[ExifTags.IFD.GPSInfo] = {1: "S", 2: (26.0, 12.0, 30.5), 3: "E", 4: (28.0, 2.0, 41.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def has_gps(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as image:
        return bool(image.getexif().get_ifd(ExifTags.IFD.GPSInfo))


class Phone(pages.Phone):
    """Her phone: 360x640, touch, 2G."""

    def __init__(self, browser: Any, base: str) -> None:
        super().__init__(browser, base, shots="reporter-story", scale=2, goto_timeout=60_000)
        self.dialogs: list[str] = []

    def tells(self, narrative: str) -> None:
        p = self.page
        p.check("input[name=categories][value=extortion]")
        p.check("input[name=perpetrators][value=saps]")
        p.select_option("#month", str(REPORTED.month))
        p.select_option("#year", str(REPORTED.year))
        p.select_option("#province", "GP")
        p.fill("#narrative", narrative)
        p.fill("#perpetrator_details", f"badge {SENTINEL}")

    def attaches(self, data: bytes, name: str = "IMG_2041.jpg", keep: bool = False) -> None:
        self.page.set_input_files(
            "#attachments", files=[{"name": name, "mimeType": "image/jpeg", "buffer": data}]
        )
        if keep:
            self.page.check("#keep_original")

    def sends_and_gets_receipt(self, tap: str = "tap", progress: bool = False) -> str:
        if tap == "double":
            self.page.dblclick("#send")
        else:
            self.page.tap("#send")
        if progress:  # the bar moves while the sealed report goes up
            self.page.wait_for_function(
                "() => !document.getElementById('send-progress').hidden && "
                "document.querySelector('#send-progress progress').value > 0",
                timeout=60_000,
            )
            self.shot("progress")
        self.page.wait_for_url(re.compile(r"/report/received"), timeout=120_000)
        return self.page.inner_text("#receipt")


def stored(app: Flask) -> tuple[list[Report], list[Attachment]]:
    with app.app_context():
        return (
            list(db.session().scalars(select(Report)).all()),
            list(db.session().scalars(select(Attachment)).all()),
        )


def opened_photo(app: Flask) -> tuple[bytes, dict]:
    """The report and its photo as the moderator's browser opens them (province key)."""
    reports, atts = stored(app)
    assert len(reports) == 1 and len(atts) == 1
    key = secrets_of(app)["GP"]
    return (
        envelope.open_attachment(atts[0].header, atts[0].body, key),
        envelope.open_envelope(reports[0].envelope, key),
    )


def test_her_photo_leaves_the_phone_cleaned_and_smaller_with_a_progress_bar(
    app: Flask, browser: Any
) -> None:
    posted = record_posts(app)
    original = gps_photo(3000, 2000)
    assert has_gps(original)
    with live_server(app) as base:
        phone = Phone(browser, base)
        # Given a reporter on 2G with a phone photo that carries where and when it was taken
        phone.opens("/report")
        hint = phone.page.inner_text("#attachments-hint")
        assert "MB each" in hint  # the limit is stated before she picks a file
        box_top = phone.page.locator("#attachments-hint").bounding_box()["y"]
        assert box_top < phone.page.locator("#attachments").bounding_box()["y"]
        phone.tells(f"{SENTINEL} they took my money and my phone photo shows the car")
        phone.attaches(original)
        phone.page.locator("#keep_original").scroll_into_view_if_needed()
        phone.shot("photo-choice")
        # When she sends it, a progress bar moves
        receipt = phone.sends_and_gets_receipt(progress=True)
        phone.shot("photo-receipt")
        # Then she gets her receipt, on one line at 360 px
        assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", receipt)
        one_line = phone.page.evaluate("""() => { const r = document.getElementById('receipt');
            const range = document.createRange(); range.selectNodeContents(r);
            const lines = new Set(Array.from(range.getClientRects(), b => Math.round(b.top)));
            return lines.size === 1 && r.scrollWidth <= r.clientWidth
              && r.getBoundingClientRect().right <= 360; }""")
        assert one_line
        assert phone.page.locator("#copy-receipt").is_visible()
        # And what left the phone was one sealed post, with no trace of the photo
        assert len(posted.bodies) == 1
        assert PHONE.encode() not in posted.bodies[0] and SENTINEL.encode() not in posted.bodies[0]
        assert not phone.watch.errors and not phone.watch.foreign_requests(base)
        phone.close()
    # And the moderator opens a photo with no GPS, no phone, no time, at most 1600 px
    photo, payload = opened_photo(app)
    assert not has_gps(photo) and PHONE.encode() not in photo and b"2026:10:03" not in photo
    with Image.open(io.BytesIO(photo)) as image:
        assert image.format == "JPEG" and max(image.size) == 1600 and not dict(image.getexif())
    assert len(photo) < len(original)
    att = payload["attachments"][0]
    assert att["metadata_removed"] is True and att["type"] == "image/jpeg"
    assert att["size"] == len(photo)


def test_keep_the_original_sends_it_byte_for_byte(app: Flask, browser: Any) -> None:
    original = gps_photo(400, 300)
    with live_server(app) as base:
        phone = Phone(browser, base)
        phone.opens("/report")
        phone.tells(f"{SENTINEL} the photo is evidence, its place matters")
        phone.attaches(original, keep=True)
        phone.sends_and_gets_receipt()
        phone.close()
    photo, payload = opened_photo(app)
    assert photo == original and has_gps(photo)
    assert payload["attachments"][0]["metadata_removed"] is False


@pytest.mark.parametrize("why", ["not a photo this phone can read", "canvas read-back blocked"])
def test_a_photo_that_cannot_be_cleaned_is_never_sent_silently(
    app: Flask, browser: Any, why: str
) -> None:
    with live_server(app) as base:
        phone = Phone(browser, base)
        if why == "canvas read-back blocked":  # as Tor Browser's fingerprinting guard does
            phone.page.add_init_script("""CanvasRenderingContext2D.prototype.getImageData =
                function (x, y, w, h) { return new ImageData(w, h); };""")
            photo = gps_photo(300, 200)
        else:  # e.g. an iPhone's HEIC photo, which Chrome on Android cannot decode
            photo = b"\x00\x00\x00\x18ftypheic" + b"\x00" * 2000
        phone.opens("/report")
        phone.tells(f"{SENTINEL} with a photo")
        phone.attaches(photo)
        phone.page.tap("#send")
        phone.page.wait_for_selector("#attachments-js-error", timeout=30_000)
        assert "Keep the original file" in phone.page.inner_text("#attachments-js-error")
        assert phone.page.get_attribute("#attachments", "aria-invalid") == "true"
        assert phone.posts == [] and stored(app)[0] == []
        # she decides the original may go, as it is
        phone.page.check("#keep_original")
        assert phone.sends_and_gets_receipt()
        phone.close()
    sent, payload = opened_photo(app)
    assert sent == photo and payload["attachments"][0]["metadata_removed"] is False


def test_network_drops_mid_upload_her_words_stay_and_she_sends_again(
    app: Flask, browser: Any
) -> None:
    big = gps_photo(560, 420, noisy=True)  # about 200 KB that does not shrink: a long upload
    assert len(big) > 150_000
    with live_server(app) as base:
        phone = Phone(browser, base)
        phone.opens("/report")
        narrative = f"{SENTINEL} a long story typed slowly with one thumb"
        phone.tells(narrative)
        phone.attaches(big, keep=True)
        phone.page.tap("#send")
        # When the network drops while the progress bar moves
        phone.page.wait_for_function(
            "() => !document.getElementById('send-progress').hidden && "
            "document.querySelector('#send-progress progress').value > 0",
            timeout=60_000,
        )
        phone.shot("upload-progress")
        phone.offline()
        # Then she is told plainly, and her words are still there
        phone.page.wait_for_selector("#js-status:has-text('Not sent')", timeout=30_000)
        phone.shot("upload-dropped")
        status = phone.page.inner_text("#js-status")
        assert "Your words are still here" in status and "signal" in status
        assert phone.page.input_value("#narrative") == narrative
        assert phone.page.is_checked("input[value=extortion]")
        assert phone.page.is_enabled("#send")
        # (the server may have had the whole body already: then it kept one report, and her
        # second send of the same form gets that report's receipt, not a second report)
        assert len(stored(app)[0]) <= 1
        # When the signal comes back, she sends again without retyping (a smaller file now)
        phone.online()
        phone.attaches(gps_photo(200, 150), keep=True)
        receipt = phone.sends_and_gets_receipt()
        assert receipt
        phone.close()
    reports, atts = stored(app)
    assert len(reports) == 1 and len(atts) == 1


def test_a_double_tap_a_reload_and_back_never_make_two_reports_nor_show_her_words(
    app: Flask, browser: Any
) -> None:
    with live_server(app) as base:
        phone = Phone(browser, base)
        phone.opens("/")
        phone.page.click("nav.nav a[href$='/report']")
        phone.tells(f"{SENTINEL} double tap on a slow phone")
        receipt = phone.sends_and_gets_receipt(tap="double")
        # She copies the number, to paste it into a contact
        phone.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        phone.page.tap("#copy-receipt")
        phone.page.wait_for_selector("#copy-receipt:has-text('Copied')")
        assert phone.page.evaluate("navigator.clipboard.readText()") == receipt
        # A reload (Android does that when she switches to Contacts) shows the same number
        phone.page.reload()
        assert phone.page.inner_text("#receipt") == receipt
        # Back goes to where she was before the form, not to the form with her words
        phone.page.go_back()
        phone.page.wait_for_load_state()
        assert "/report" not in phone.page.url or phone.page.input_value("#narrative") == ""
        assert SENTINEL not in phone.page.content()
        phone.close()
    assert len(stored(app)[0]) == 1


def neutral_site() -> Flask:
    """Where Quick exit sends her: another site (another origin), served here."""
    site = Flask("weather")
    site.add_url_rule("/", "index", lambda: "<title>Weather</title><p>Sunny, 24 degrees.</p>")
    return site


def test_quick_exit_stays_in_reach_and_back_shows_nothing(
    app_factory: Callable[..., Flask], browser: Any
) -> None:
    with live_server(neutral_site()) as elsewhere:
        exit_page = elsewhere + "/"
        app = app_factory(QUICK_EXIT_URL=exit_page)
        story_quick_exit(app, browser, exit_page)


def story_quick_exit(app: Flask, browser: Any, exit_page: str) -> None:
    with live_server(app) as base:
        phone = Phone(browser, base)
        phone.opens("/report")
        phone.tells(f"{SENTINEL} someone is coming")
        # While she scrolls down to the Send button, both ways out stay on screen, big
        phone.page.locator("#send").scroll_into_view_if_needed()
        phone.shot("exit-scrolled")
        for sel in ("#quick-exit", "#quick-exit-bottom"):
            box = phone.page.locator(sel).bounding_box()
            assert box and 0 <= box["y"] and box["y"] + box["height"] <= 640, sel
            assert box["height"] >= 44 and box["width"] >= 88, (sel, box)
        # the bottom one does not hide the Send button
        send, bottom = (
            phone.page.locator(s).bounding_box() for s in ("#send", "#quick-exit-bottom")
        )
        apart = (
            send["x"] + send["width"] <= bottom["x"]
            or send["y"] + send["height"] <= bottom["y"]
            or send["y"] >= bottom["y"] + bottom["height"]
        )
        assert apart, (send, bottom)
        # When she taps the bottom "Quick exit" with her thumb
        with phone.page.expect_navigation(url=exit_page):
            phone.page.tap("#quick-exit-bottom")
        assert "Sunny" in phone.page.inner_text("body")
        # Then Back shows neither her words nor her ticks
        phone.page.go_back()
        phone.page.wait_for_load_state()
        phone.shot("exit-back")
        assert SENTINEL not in phone.page.content()
        if phone.page.locator("#narrative").count():
            assert phone.page.input_value("#narrative") == ""
            assert not phone.page.is_checked("input[value=extortion]")
        # And Esc (a keyboard, a laptop at an office) leaves too
        phone.opens("/report")
        phone.page.fill("#narrative", f"{SENTINEL} again")
        with phone.page.expect_navigation(url=exit_page):
            phone.page.keyboard.press("Escape")
        phone.close()


def test_a_page_restored_from_the_back_forward_cache_shows_no_words(
    app: Flask, browser: Any
) -> None:
    """Chrome may keep a page in its back-forward cache; when it comes back (Back, Android
    restoring the tab), the report form is emptied. The restore is simulated: headless Chrome
    does not keep a no-store page in that cache."""
    with live_server(app) as base:
        phone = Phone(browser, base)
        phone.opens("/report")
        phone.tells(f"{SENTINEL} restored from the cache")
        phone.page.evaluate("""() => window.dispatchEvent(
            new PageTransitionEvent('pageshow', {persisted: true}))""")
        assert phone.page.input_value("#narrative") == ""
        assert phone.page.input_value("#perpetrator_details") == ""
        assert not phone.page.is_checked("input[value=extortion]")
        assert phone.page.input_value("input[name=form_id]")  # still sendable
        phone.close()


def test_staff_pages_get_no_esc_binding(app: Flask, browser: Any) -> None:
    with live_server(app) as base:
        page = browser.new_page()
        page.goto(base + "/staff/login")
        page.fill("input[name=login]", "moderator draft")
        page.keyboard.press("Escape")
        page.wait_for_timeout(300)
        assert page.url == base + "/staff/login"
        assert page.input_value("input[name=login]") == "moderator draft"
        assert page.locator("#quick-exit-bottom").count() == 0
        page.close()


def test_changing_language_mid_form_asks_first(
    app_factory: Callable[..., Flask], browser: Any
) -> None:
    app = app_factory(LANGUAGES="en,zu")
    with live_server(app) as base:
        phone = Phone(browser, base)
        phone.opens("/report")
        # An untouched form changes language without a question
        with phone.page.expect_navigation():
            phone.page.click("#languages a[hreflang=zu]")
        assert phone.page.url.endswith("/zu/report")
        with phone.page.expect_navigation():
            phone.page.click("#languages a[hreflang=en]")
        # With her words in it, she is asked, and "Cancel" keeps them
        phone.page.fill("#narrative", f"{SENTINEL} half told")
        asked: list[str] = []

        def cancel(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.dismiss()

        phone.page.once("dialog", cancel)
        phone.page.click("#languages a[hreflang=zu]")
        phone.page.wait_for_timeout(300)
        assert asked and "lost" in asked[0]
        assert phone.page.url.endswith("/report") and "/zu/" not in phone.page.url
        assert phone.page.input_value("#narrative") == f"{SENTINEL} half told"
        # "OK" goes, and nothing of hers was kept on the phone
        phone.page.once("dialog", lambda d: d.accept())
        with phone.page.expect_navigation():
            phone.page.click("#languages a[hreflang=zu]")
        assert phone.page.url.endswith("/zu/report")
        stores = phone.page.evaluate("() => localStorage.length + sessionStorage.length")
        assert stores == 0
        phone.close()


def test_a_missing_answer_is_marked_at_the_field(app: Flask, browser: Any) -> None:
    with live_server(app) as base:
        phone = Phone(browser, base)
        phone.opens("/report")
        phone.shot("form-top")
        # ticks are easy to hit with a thumb: each row at least 44 px tall
        rows = phone.page.eval_on_selector_all(
            "#categories label, #perpetrators label", "ls => ls.map(l => l.offsetHeight)"
        )
        assert rows and min(rows) >= 44, rows
        phone.page.check("input[name=categories][value=extortion]")
        phone.page.check("input[name=perpetrators][value=saps]")
        phone.page.select_option("#province", "GP")
        phone.page.tap("#send")
        # The narrative itself is marked, described by the message, and focused
        assert phone.page.get_attribute("#narrative", "aria-invalid") == "true"
        described = phone.page.get_attribute("#narrative", "aria-describedby") or ""
        message = phone.page.inner_text("#narrative-js-error")
        assert "narrative-js-error" in described and "what happened" in message
        assert phone.page.evaluate("document.activeElement.id") == "narrative"
        assert "what happened" in phone.page.inner_text("#js-status")
        phone.shot("field-marked")
        # When she writes it, the mark goes
        phone.page.fill("#narrative", f"{SENTINEL} now told")
        phone.page.uncheck("input[name=categories][value=extortion]")
        phone.page.tap("#send")
        assert phone.page.get_attribute("#narrative", "aria-invalid") is None
        assert phone.page.get_attribute("input[value=extortion]", "aria-invalid") == "true"
        assert phone.posts == []
        phone.close()


def test_a_refusal_from_the_server_is_shown_and_keeps_her_words(app: Flask, browser: Any) -> None:
    with live_server(app) as base:
        phone = Phone(browser, base)
        phone.opens("/report")
        phone.tells(f"{SENTINEL} refused once")
        # the server refuses (a damaged envelope) with its JSON answer
        phone.page.route(
            "**/report",
            lambda route: (
                route.fulfill(
                    status=400,
                    content_type="application/json",
                    body=json.dumps({"error": "The locked report arrived damaged."}),
                )
                if route.request.method == "POST"
                else route.continue_()
            ),
        )
        phone.page.tap("#send")
        phone.page.wait_for_selector("#js-status:has-text('damaged')", timeout=30_000)
        assert phone.page.input_value("#narrative").startswith(SENTINEL)
        assert phone.page.is_enabled("#send")
        phone.close()


def test_a_form_left_open_too_long_is_refused_once_then_goes_through(
    app: Flask, browser: Any
) -> None:
    """The server refuses a stale form id in JSON with a fresh one: her next tap works."""
    with live_server(app) as base:
        phone = Phone(browser, base)
        phone.opens("/report")
        phone.tells(f"{SENTINEL} typed last night")
        phone.page.eval_on_selector("input[name=form_id]", "el => el.value = 'stale'")
        phone.page.tap("#send")
        phone.page.wait_for_selector("#js-status:has-text('NOT saved')", timeout=30_000)
        assert "too old" in phone.page.inner_text("#js-status")
        assert phone.page.input_value("#narrative").startswith(SENTINEL)
        assert phone.page.input_value("input[name=form_id]") != "stale"
        assert phone.sends_and_gets_receipt()
        phone.close()
    assert len(stored(app)[0]) == 1


def test_her_inbox_answer_is_sealed_on_her_phone(app: Flask, browser: Any) -> None:
    client = app.test_client()
    resp = submit_plain(client, "They took my money.")
    if resp.status_code == 303:
        resp = client.get(resp.headers["Location"])
    receipt = receipt_of(resp)
    posted = record_posts(app)
    with live_server(app) as base:
        phone = Phone(browser, base)
        phone.opens("/followup")
        phone.page.fill("#receipt", receipt)
        with phone.page.expect_navigation(timeout=60_000):
            phone.page.tap("main button[type=submit]")
        answer = f"{SENTINEL} it was the station on Main Road"
        phone.page.fill("#message", answer)
        with phone.page.expect_navigation(timeout=60_000):
            phone.page.tap("#reply-send")
        phone.shot("inbox-sent")
        assert "Your answer was sent" in phone.page.inner_text("main")
        assert answer in phone.page.inner_text("main")  # she reads her own answer back
        phone.close()
    reply_post = posted.bodies[-1]
    assert SENTINEL.encode() not in reply_post and b"sealed" in reply_post
    with app.app_context():
        message = db.session().scalars(select(Message)).one()
        opened = envelope.open_envelope(message.envelope, secrets_of(app)["GP"])
    assert opened == {"v": 1, "from": "reporter", "text": answer}


def test_the_report_page_with_javascript_stays_light(app: Flask) -> None:
    """Bytes as served to a phone that accepts gzip and brotli: the empty form compressed on
    the fly (it reflects nothing of the request, reporter/web/compress.py), static assets from the
    files set-up precompressed. Headers are not counted here (bench/wire.py counts them)."""
    client = app.test_client()
    headers = {"Accept-Encoding": "gzip, br"}
    resp = client.get("/report", headers=headers)
    wire = resp.get_data()
    assert resp.headers.get("Content-Encoding") in ("gzip", "br")
    html = (
        gzip.decompress(wire)
        if resp.headers["Content-Encoding"] == "gzip"
        else brotli.decompress(wire)
    )
    sizes = {"/report": len(wire)}
    resp.close()
    for src in re.findall(rb'(?:src|href)="(/static/[^"]+\.(?:js|css))"', html):
        asset = client.get(src.decode(), headers=headers)
        data = asset.get_data()
        # an asset edited after set-up is served plain; count what set-up would serve
        sizes[src.decode()] = (
            len(data) if asset.headers.get("Content-Encoding") else len(gzip.compress(data, 9))
        )
        asset.close()
    served = sum(sizes.values())
    print(f"report page with JS: {served} bytes as served: {sizes}")
    assert len(sizes) >= 5 and served <= 35 * 1024, sizes


def test_without_javascript_her_photo_is_cleaned_on_the_server_and_exit_back_is_empty(
    app_factory: Callable[..., Flask], browser: Any
) -> None:
    """Tor Browser on "Safest": the same photo, the same promise, no script at all."""
    with live_server(neutral_site()) as elsewhere:
        app = app_factory(QUICK_EXIT_URL=elsewhere + "/")
        with live_server(app) as base:
            context = browser.new_context(
                java_script_enabled=False, viewport={"width": 360, "height": 640}
            )
            page = context.new_page()
            page.goto(base + "/report")
            page.check("input[name=categories][value=extortion]")
            page.check("input[name=perpetrators][value=saps]")
            page.select_option("#month", str(REPORTED.month))
            page.select_option("#year", str(REPORTED.year))
            page.select_option("#province", "GP")
            page.fill("#narrative", f"{SENTINEL} sent from Tor Browser")
            page.set_input_files(
                "#attachments",
                files=[
                    {
                        "name": "IMG_2041.jpg",
                        "mimeType": "image/jpeg",
                        "buffer": gps_photo(900, 600),
                    }
                ],
            )
            with page.expect_navigation(url=re.compile(r"/report/received")):
                page.click("#send")
            assert page.locator("#copy-receipt").count() == 0  # no script, no button
            # A second report, left with Quick exit: Back shows neither words nor ticks
            page.goto(base + "/report")
            page.check("input[name=categories][value=extortion]")
            page.fill("#narrative", f"{SENTINEL} someone came")
            with page.expect_navigation(url=elsewhere + "/"):
                page.click("#quick-exit")
            page.go_back()
            page.wait_for_load_state()
            assert page.input_value("#narrative") == ""
            assert not page.is_checked("input[value=extortion]")
            context.close()
        photo, payload = opened_photo(app)
    assert not has_gps(photo) and PHONE.encode() not in photo
    assert payload["attachments"][0]["metadata_removed"] is True
