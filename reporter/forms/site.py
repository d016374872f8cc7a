"""Site-wide public pages: home with safety advice, language choice, quick exit."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from werkzeug.wrappers import Response

from reporter.config import Settings
from reporter.models import db
from reporter.models.public import SiteContent
from reporter.web.i18n import without_prefix

bp = Blueprint("site", __name__)


@bp.get("/")
def index() -> str:
    """Home: what this is, how to stay safe, where to go."""
    return render_template("index.html", content=site_content())


def site_content() -> dict[str, str]:
    """Admin-edited snippets (already sanitised when saved) in the page's language, else the
    text saved for every language ("*"); the translated built-in text if none or DB down."""
    lang = str(get_locale() or "en")
    try:
        rows = (
            db.session().scalars(select(SiteContent).where(SiteContent.lang.in_((lang, "*")))).all()
        )
    except OperationalError:
        db.session().rollback()
        return {}
    # the page's own language wins over "*"
    return {row.key: row.html for row in sorted(rows, key=lambda r: r.lang == lang)}


@bp.get("/sw.js")
def service_worker() -> Response:
    """The report page's service worker (static/sw.js), served from the root so that its scope
    covers /report in every language; it keeps only that page and our own assets."""
    # read whole (a few KB): a streamed file left open by a client that stops reading would
    # hold a descriptor
    path = Path(current_app.static_folder or "static") / "sw.js"
    resp = Response(path.read_bytes(), mimetype="text/javascript")
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Service-Worker-Allowed"] = "/"
    return resp


@bp.get("/exit")
def quick_exit() -> Response:
    """Quick exit: close her inbox on the server, forget the session (a receipt still shown,
    a form's CSRF token), then send her to a neutral site (no referrer is sent).

    A GET, because the exit must be a plain link that works without JavaScript; what it
    changes is only her own session, so a forged link can do no more than log her out."""
    settings: Settings = current_app.extensions["reporter.settings"]
    from reporter.services import inbox

    inbox.forget(session, db.session(), settings.secret_key)
    session.clear()
    return redirect(settings.quick_exit_url, code=303)


@bp.post("/language")
def language() -> Response:
    """Remember a language choice in the existing session (the language links need none)."""
    settings: Settings = current_app.extensions["reporter.settings"]
    lang = request.form.get("lang", "")
    if lang not in settings.languages:
        abort(400)
    session["lang"] = lang
    # unprefixed, so the page follows the choice just stored rather than an older prefix
    return redirect(local_path(without_prefix(request.form.get("next", ""))), code=303)


def local_path(target: str) -> str:
    """`target` if it is a path on this site, else the home page: the language switcher must
    not become an open redirect (`//host`, `/\\host`, and `/<tab>/host`, which browsers read
    as `//host`, all go home)."""
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target)
    ):
        return url_for("site.index")
    return target
