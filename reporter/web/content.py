"""Site content that admins edit (safety advice, helplines, office contacts): a small HTML
subset, sanitised with bleach when saved."""

from __future__ import annotations

from collections.abc import MutableMapping

import bleach
from bleach.linkifier import Linker

TAGS = frozenset({"p", "br", "ul", "ol", "li", "strong", "em", "b", "i", "a", "h3", "h4"})
ATTRIBUTES = {"a": ["href", "title"]}
PROTOCOLS = frozenset({"https", "http", "tel", "mailto"})
KEYS = ("safety", "helplines", "offices")


def _rel(
    attrs: MutableMapping[tuple[str | None, str], str], new: bool = False
) -> MutableMapping[tuple[str | None, str], str]:
    attrs[(None, "rel")] = "noopener noreferrer"
    return attrs


def sanitise(html: str) -> str:
    """Allow-list of text tags and links; every link gets rel="noopener noreferrer"; no
    images, scripts, styles or event handlers survive."""
    clean = bleach.clean(
        html, tags=TAGS, attributes=ATTRIBUTES, protocols=PROTOCOLS, strip=True, strip_comments=True
    )
    return Linker(callbacks=[_rel], parse_email=False).linkify(clean)
