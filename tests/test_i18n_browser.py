"""A reporter who reads isiZulu (or any other language of the site), in a real browser
(Debian's Chromium) with JavaScript off: she switches the site to her language, reports, and
reads her receipt and her inbox in it. The expected words come from her language's catalog,
never typed in here."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from reporter.config import AVAILABLE_LANGUAGES
from reporter.web.i18n import LANGUAGE_NAMES
from tests.support.browser import CHROMIUM, chromium, live_server
from tests.support.i18n import t
from tests.test_intake_browser import Reporter

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
    pytest.mark.browser,
]


class ReaderOfIsiZulu(Reporter):
    """The reporter of tests/test_intake_browser.py, who also picks a language and follows
    the links the pages give her (so each next page must keep her language)."""

    def picks_language(self, name: str) -> None:
        with self.page.expect_navigation():
            self.page.click(f"#languages a:text-is('{name}')")

    def follows_link(self, text: str) -> None:
        with self.page.expect_navigation():
            self.page.click(f"main a:text-is('{text}')")

    def logs_in_with(self, receipt: str, button: str) -> str:
        self.page.fill("#receipt", receipt)
        with self.page.expect_navigation():
            self.page.click(f"main button:text-is('{button}')")
        return self.page.inner_text("main")

    def language(self) -> str:
        return str(self.page.get_attribute("html", "lang"))


@pytest.mark.parametrize("lang", [code for code in AVAILABLE_LANGUAGES if code != "en"])
def test_without_javascript_she_reports_and_reads_her_inbox_in_her_language(
    app_factory: Callable[..., Flask], lang: str
) -> None:
    app = app_factory(LANGUAGES=",".join(AVAILABLE_LANGUAGES))
    with live_server(app) as base, chromium() as browser:
        # Given a reporter with JavaScript off (Tor Browser "Safest") on the English form
        context = browser.new_context(java_script_enabled=False)
        page = context.new_page()
        she = ReaderOfIsiZulu(page, base)
        she.opens_the_form()
        assert she.language() == "en"
        # When she picks her language from the language links
        she.picks_language(LANGUAGE_NAMES[lang])
        # Then the form is in her language, at an address that says so
        assert she.language() == lang and page.url == f"{base}/{lang}/report"
        assert page.inner_text("h1") == t(lang, "Report what happened")
        assert t(lang, "Arrested or held without a reason") in page.inner_text("main")
        # When she tells what happened and sends it
        she.tells("Amaphoyisa angithathela imali.")
        text = she.sends()
        # Then her receipt page is in her language, and says the server locked her report
        assert she.language() == lang
        assert page.inner_text("h1") == t(lang, "Your report was received")
        assert (
            t(
                lang,
                "Your report was locked (encrypted) on our server the moment it "
                "arrived. It was never saved unlocked.",
            )
            in text
        )
        assert t(lang, "Your receipt number") in text and f"/{lang}/report/received" in page.url
        receipt = she.receipt()
        # When she follows the receipt page's link to her inbox and logs in with her number
        she.follows_link(t(lang, "Open my inbox"))
        assert she.language() == lang and page.url == f"{base}/{lang}/followup"
        inbox = she.logs_in_with(receipt, t(lang, "Open my inbox"))
        # Then she reads her inbox in her language
        assert she.language() == lang
        assert page.inner_text("h1") == t(lang, "Your report")
        assert page.inner_text("#status") == t(lang, "Received, not yet read")
        assert t(lang, "No messages yet. Come back in a few days.") in inbox
        context.close()
