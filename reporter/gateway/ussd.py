"""The USSD menu: one screen per request, state kept sealed between requests (store.py).

Screens (every one at most SCREEN_MAX characters with its "CON "/"END ", in every language):
language -> home (report / my receipt / please call me) -> what happened (paged) -> who did
it (paged) -> province (paged) -> town (typed, or chosen from a list) -> month (or year) ->
a short text -> may we contact you (call back / messages only / no) -> legal partner ->
END with the receipt. "My receipt" shows the status and the latest message to her; "Please
call me" asks the province and files a call-back request (channel "helpline").

The gateway resends every answer so far in `text`; the state remembers how many were used,
so a retried request shows the same screen again and a finished session only gets END.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _

from reporter.domain import gazetteer
from reporter.domain.vocabulary import CATEGORIES, MONTH_NAMES, PERPETRATORS, PROVINCE_LABELS
from reporter.services.gateways import Screen
from reporter.web.i18n import LANGUAGE_NAMES

SCREEN_MAX = 182  # characters of the whole answer, "CON " or "END " included
BODY_MAX = SCREEN_MAX - 4
LABEL_MAX = 44
TEXT_MAX = 500  # a USSD input is at most ~160 characters; a longer one is refused
TOWN_LIST = 16
MONTHS_BACK = 6
YEARS_BACK = 6
FREE_TEXT_STEPS = {"town", "text", "receipt"}
# the steps Menu._answer_what_and_where takes; Menu._answer_when_and_after the rest
WHAT_AND_WHERE = {"lang", "home", "cat", "perp", "prov", "cbprov", "town", "townlist"}


def status_labels() -> dict[str, str]:
    # the same words as the web inbox (forms/inbox.html), so the catalogs already have them
    return {
        "new": _("Received, not yet read"),
        "in_review": _("A paralegal is looking at it"),
        "needs_info": _("We have a question for you"),
        "verified": _("Checked and counted"),
        "rejected": _("Closed"),
        "duplicate": _("Joined with another report"),
    }


def cut(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def not_listed() -> str:
    return _("Not in the list. Try again.")


@dataclass(frozen=True)
class Page:
    items: list[tuple[str, str]]  # (value, label) shown as 1..n
    more: bool


def pages(header: str, items: list[tuple[str, str]]) -> list[Page]:
    """Greedy pages of numbered items that fit with the header, an error line and "0 More"."""
    more_line = "0 " + _("More")
    budget = BODY_MAX - len(header) - len(not_listed()) - len(more_line) - 3
    out: list[list[tuple[str, str]]] = [[]]
    used = 0
    for value, label in items:
        label = cut(label, LABEL_MAX)
        line = len(f"{len(out[-1]) + 1} {label}") + 1
        if out[-1] and (used + line > budget or len(out[-1]) >= 9):
            out.append([])
            used, line = 0, len(f"1 {label}") + 1
        out[-1].append((value, label))
        used += line
    return [Page(p, len(out) > 1) for p in out]


@dataclass
class Context:
    """What the menu needs from the app (routes.py fills it)."""

    languages: tuple[str, ...]
    ussd_code: str
    site: str
    submit: Callable[[dict[str, Any], str], str]  # (data, kind) -> receipt
    open_receipt: Callable[[str], tuple[str, str | None] | None]  # -> (status, latest message)
    today: dt.date


class Menu:
    def __init__(self, ctx: Context, state: dict[str, Any]) -> None:
        self.ctx, self.s = ctx, state
        self.data: dict[str, Any] = state.setdefault("data", {})

    # ---- lists --------------------------------------------------------------------------
    def _list(self, step: str) -> tuple[str, list[tuple[str, str]]]:
        if step == "cat":
            return _("What happened?"), [(t.value, str(t.label)) for t in CATEGORIES]
        if step == "perp":
            return _("Who did it?"), [(t.value, str(t.label)) for t in PERPETRATORS]
        if step in ("prov", "cbprov"):
            return _("Which province?"), [(c, str(n)) for c, n in PROVINCE_LABELS.items()]
        if step == "townlist":
            towns = sorted(gazetteer.towns_in(self.data["province"]), key=lambda t: -t.population)[
                :TOWN_LIST
            ]
            return _("Which town?"), [
                (str(t.id), t.name) for t in sorted(towns, key=lambda t: t.name)
            ]
        if step == "month":
            return _("Which month?"), [*self._months(), ("earlier", _("Earlier / not sure"))]
        if step == "year":
            year = self.ctx.today.year
            return _("Which year?"), [(str(y), str(y)) for y in range(year, year - YEARS_BACK, -1)]
        raise KeyError(step)

    def _months(self) -> list[tuple[str, str]]:
        y, m = self.ctx.today.year, self.ctx.today.month
        out = []
        for _i in range(MONTHS_BACK):
            out.append((f"{y}-{m}", f"{MONTH_NAMES[m - 1]} {y}"))
            y, m = (y, m - 1) if m > 1 else (y - 1, 12)
        return out

    def _page(self, step: str) -> tuple[str, Page]:
        header, items = self._list(step)
        all_pages = pages(header, items)
        index = self.s.get("page", 0) % len(all_pages)
        return header, all_pages[index]

    # ---- screens ------------------------------------------------------------------------
    def screen(self, error: str | None = None) -> Screen:
        step = self.s["step"]
        lines = [error] if error else []
        if step == "lang":
            lines = [f"{i} {LANGUAGE_NAMES[c]}" for i, c in enumerate(self.ctx.languages, 1)]
            if error:
                lines.insert(0, "?")
        elif step == "home":
            lines += [
                _("Report abuse safely."),
                "1 " + _("Report what happened"),
                "2 " + _("My receipt"),
                "3 " + _("Please call me"),
            ]
        elif step in ("cat", "perp", "prov", "cbprov", "townlist", "month", "year"):
            header, page = self._page(step)
            lines += [header, *(f"{i} {label}" for i, (_v, label) in enumerate(page.items, 1))]
            if page.more:
                lines.append("0 " + _("More"))
        elif step == "town":
            lines += [
                _("Town or area? Type its name."),
                "1 " + _("Choose from a list"),
                "2 " + _("Skip"),
            ]
        elif step == "text":
            lines += [_("In a few words, what happened? Do not write names."), "0 " + _("Skip")]
        elif step == "contact":
            lines += [
                _("May we contact you?"),
                "1 " + _("Call me back on this phone"),
                "2 " + _("Only through My receipt"),
                "3 " + _("No"),
            ]
        elif step == "legal":
            lines += [_("May our legal partner see your report?"), "1 " + _("Yes"), "2 " + _("No")]
        elif step == "receipt":
            lines += [_("Type your 16-digit receipt number.")]
        elif step == "more":
            return Screen(self.s.pop("rest", ""), final=True)
        return Screen("\n".join(lines))

    # ---- answers ------------------------------------------------------------------------
    def _choose(self, step: str, answer: str) -> str | None:
        """The value chosen on a paged list; None when she asked for more, raises when wrong."""
        _header, page = self._page(step)
        if answer == "0" and page.more:
            self.s["page"] = self.s.get("page", 0) + 1
            return None
        if not answer.isdigit() or not 1 <= int(answer) <= len(page.items):
            raise ValueError(not_listed())
        self.s["page"] = 0
        return page.items[int(answer) - 1][0]

    def _go(self, step: str) -> None:
        self.s["step"], self.s["page"] = step, 0

    def answer(self, text: str) -> Screen | None:
        """Apply one answer; an END screen when the session finishes, else None.
        Raises ValueError(message) when the answer does not fit the question."""
        step, a = self.s["step"], text.strip()
        if step in WHAT_AND_WHERE:
            return self._answer_what_and_where(step, a)
        return self._answer_when_and_after(step, a)

    def _answer_what_and_where(self, step: str, a: str) -> Screen | None:
        """The language, the home menu, what happened, who did it, the province and place."""
        if step == "lang":
            if not a.isdigit() or not 1 <= int(a) <= len(self.ctx.languages):
                raise ValueError("?")
            self.s["lang"] = self.ctx.languages[int(a) - 1]
            self._go("home")
        elif step == "home":
            nxt = {"1": "cat", "2": "receipt", "3": "cbprov"}.get(a)
            if nxt is None:
                raise ValueError(not_listed())
            self._go(nxt)
        elif step in ("cat", "perp"):
            value = self._choose(step, a)
            if value is not None:
                self.data["categories" if step == "cat" else "perpetrators"] = [value]
                self._go("perp" if step == "cat" else "prov")
        elif step == "prov":
            value = self._choose(step, a)
            if value is not None:
                self.data["province"] = value
                self._go("town")
        elif step == "cbprov":
            value = self._choose(step, a)
            if value is not None:
                self.data["province"] = value
                return self._finish("callback")
        elif step == "town":
            if a == "1":
                self._go("townlist")
            elif a == "2":
                self._go("month")
            elif not a or len(a) > 200:
                raise ValueError(_("Please keep the place short."))
            else:
                self._typed_town(a)
                self._go("month")
        elif step == "townlist":
            value = self._choose(step, a)
            if value is not None:
                town = gazetteer.lookup(int(value))
                self.data["town_id"], self.data["town"] = (
                    (town.id, town.name) if town else (None, None)
                )
                self._go("month")
        return None

    def _answer_when_and_after(self, step: str, a: str) -> Screen | None:
        """The month or year, her words, contact and consent; a receipt look-up."""
        if step == "month":
            value = self._choose(step, a)
            if value == "earlier":
                self._go("year")
            elif value is not None:
                year, month = value.split("-")
                self.data["year"], self.data["month"] = int(year), int(month)
                self._go("text")
        elif step == "year":
            value = self._choose(step, a)
            if value is not None:
                self.data["year"], self.data["month"] = int(value), None
                self._go("text")
        elif step == "text":
            if len(a) > TEXT_MAX:
                raise ValueError(_("This is too long. Please shorten it."))
            self.data["narrative"] = "" if a == "0" else a
            self._go("contact")
        elif step == "contact":
            if a not in ("1", "2", "3"):
                raise ValueError(not_listed())
            self.data["callback"], self.data["contact"] = a == "1", a in ("1", "2")
            self._go("legal")
        elif step == "legal":
            if a not in ("1", "2"):
                raise ValueError(not_listed())
            self.data["legal"] = a == "1"
            return self._finish("report")
        elif step == "receipt":
            return self._receipt(a)
        elif step == "more":
            return self.screen()
        return None

    def _typed_town(self, text: str) -> None:
        folded = text.casefold()
        match = next(
            (t for t in gazetteer.towns_in(self.data["province"]) if t.name.casefold() == folded),
            None,
        )
        if match is not None:
            self.data["town_id"], self.data["town"] = match.id, match.name
        else:
            self.data["place"] = text

    def _finish(self, kind: str) -> Screen:
        receipt = self.ctx.submit({**self.data, "language": self.s.get("lang") or "en"}, kind)
        grouped = " ".join(receipt[i : i + 4] for i in range(0, 16, 4))
        if kind == "callback":
            lines = [
                _("Thank you. A paralegal will call you on this phone."),
                _("Your receipt:"),
                grouped,
            ]
        else:
            lines = [_("Received. Your receipt:"), grouped, _("Write it down.")]
        follow = _("To follow up, dial %(code)s and choose My receipt.", code=self.ctx.ussd_code)
        body = "\n".join([*lines, follow])
        web = f"{self.ctx.site}/followup" if self.ctx.site else ""
        if web and len(body) + len(web) + 1 <= BODY_MAX:
            body += "\n" + web
        self.data.clear()
        return Screen(cut_lines(body, BODY_MAX), final=True)

    def _receipt(self, text: str) -> Screen:
        opened = self.ctx.open_receipt(text)
        if opened is None:
            return Screen(
                _("We could not find this receipt. Check the digits and dial again."), final=True
            )
        status, latest = opened
        head = _("Status:") + " " + status_labels().get(status, status)
        if not latest:
            return Screen(head + "\n" + _("No message for you yet."), final=True)
        intro = head + "\n" + _("Latest message:") + "\n"
        room = BODY_MAX - len(intro)
        if len(latest) <= room:
            return Screen(intro + latest, final=True)
        more = "\n1 " + _("More")
        first = latest[: room - len(more)]
        self.s["rest"] = cut(latest[len(first) :], BODY_MAX)
        self._go("more")
        return Screen(intro + first + more)


def cut_lines(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run(
    ctx: Context, state: dict[str, Any] | None, answers: list[str]
) -> tuple[Screen, dict[str, Any] | None]:
    """The screen for this request and the state to keep (None: nothing to keep)."""
    if state is None:
        if answers:  # an old or unknown session resent by the gateway: never a fresh start
            return Screen(_("This session has ended. Please dial again."), final=True), None
        first = "lang" if len(ctx.languages) > 1 else "home"
        state = {"step": first, "lang": ctx.languages[0], "seen": 0, "page": 0, "data": {}}
        with force_locale(state["lang"]):
            return Menu(ctx, state).screen(), state
    with force_locale(state.get("lang") or "en"):
        if state.get("done"):
            if len(answers) == state["seen"]:  # the gateway retried the last request
                return Screen(state.get("end", ""), final=True), state
            return Screen(_("This session has ended. Please dial again."), final=True), state
        seen = state["seen"]
        if len(answers) < seen:  # the text does not fit this session
            return Menu(ctx, state).screen(_("Please answer the question below.")), state
        new = answers[seen:]
        if not new:
            return Menu(ctx, state).screen(), state
        menu = Menu(ctx, state)
        while new:
            if state["step"] in FREE_TEXT_STEPS:
                piece, new = "*".join(new), []
            else:
                piece, new = new[0], new[1:]
            state["seen"] = state["seen"] + len(piece.split("*"))
            try:
                with force_locale(state.get("lang") or "en"):
                    final = menu.answer(piece)
            except ValueError as exc:
                state["seen"] = len(answers)
                return menu.screen(str(exc)), state
            if final is not None and final.final:
                state.update({"done": True, "end": final.text, "seen": len(answers), "data": {}})
                state.pop("rest", None)
                return final, state
            if final is not None:
                state["seen"] = len(answers)
                return final, state
        state["seen"] = len(answers)
        return menu.screen(), state


_DIGITS = re.compile(r"\D")


def callback_number(phone: str) -> str | None:
    """Her number as E.164 (+27...), or None when it cannot be read."""
    raw = phone.strip()
    digits = _DIGITS.sub("", raw)
    if raw.startswith("+") and 8 <= len(digits) <= 15:
        return "+" + digits
    if digits.startswith("27") and len(digits) == 11:
        return "+" + digits
    if digits.startswith("0") and len(digits) == 10:
        return "+27" + digits[1:]
    return None
