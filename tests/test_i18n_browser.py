"""A reporter who reads isiZulu, in a real browser (Debian's Chromium) with JavaScript off:
she switches the site to isiZulu, reports, and reads her receipt and her inbox in isiZulu.
The expected words come from the isiZulu catalog, never typed in here."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from tests.browser import CHROMIUM, chromium, live_server
from tests.i18n_helpers import t
from tests.test_intake_browser import Reporter

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")


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


def test_without_javascript_she_reports_and_reads_her_inbox_in_isizulu(
        app_factory: Callable[..., Flask]) -> None:
    app = app_factory(LANGUAGES="en,zu,xh,af,st,tn,nso")
    with live_server(app) as base, chromium() as browser:
        # Given a reporter with JavaScript off (Tor Browser "Safest") on the English form
        context = browser.new_context(java_script_enabled=False)
        page = context.new_page()
        she = ReaderOfIsiZulu(page, base)
        she.opens_the_form()
        assert she.language() == "en"
        # When she picks isiZulu from the language links
        she.picks_language("isiZulu")
        # Then the form is in isiZulu, at an address that says so
        assert she.language() == "zu" and page.url == f"{base}/zu/report"
        assert page.inner_text("h1") == t("zu", "Report what happened")
        assert t("zu", "Arrested or held without a reason") in page.inner_text("main")
        # When she tells what happened and sends it
        she.tells("Amaphoyisa angithathela imali.")
        text = she.sends()
        # Then her receipt page is in isiZulu, and says the server locked her report
        assert she.language() == "zu"
        assert page.inner_text("h1") == t("zu", "Your report was received")
        assert t("zu", "Your report was locked (encrypted) on our server the moment it "
                       "arrived. It was never saved unlocked.") in text
        assert t("zu", "Your receipt number") in text and "/zu/report/received" in page.url
        receipt = she.receipt()
        # When she follows the receipt page's link to her inbox and logs in with her number
        she.follows_link(t("zu", "Open my inbox"))
        assert she.language() == "zu" and page.url == f"{base}/zu/followup"
        inbox = she.logs_in_with(receipt, t("zu", "Open my inbox"))
        # Then she reads her inbox in isiZulu
        assert she.language() == "zu"
        assert page.inner_text("h1") == t("zu", "Your report")
        assert page.inner_text("#status") == t("zu", "Received, not yet read")
        assert t("zu", "No messages yet. Come back in a few days.") in inbox
        context.close()
