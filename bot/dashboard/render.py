"""The pages' templates: Jinja2 through aiohttp-jinja2, in Vietnamese from the bot's catalog.

The templates' words are English source strings (``{{ _("Agencies") }}``) translated by the
same gettext catalog as the chat (Jinja2's i18n extension, new-style gettext: every string
is escaped and takes named placeholders). Dates, times and scores are shown by the bot's own
formatters, in the plan's time zone.
"""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.core.i18n import (
    _,
    format_day,
    format_moment,
    format_score,
    format_size,
    format_timestamp,
    ngettext,
)
from bot.core.text import shorten
from bot.dashboard.access import VIEWER_KEY
from bot.dashboard.config import CSRF_KEY
from bot.dashboard.flash import FLASH_COOKIE, read_flash
from handlers.exports import state_label
from handlers.exports.labels import review_label


def setup(app: web.Application) -> jinja2.Environment:
    """Give the dashboard's application its template environment."""
    environment = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("bot.dashboard", "templates"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_, ngettext=ngettext, newstyle=True
    )
    environment.filters.update(
        day=format_day,
        moment=format_moment,
        timestamp=format_timestamp,
        score=format_score,
        size=format_size,
        state=state_label,
        review=review_label,
        shorten=shorten,
    )
    return environment


def page(
    template: str, request: web.Request, context: dict[str, Any], status: int = 200
) -> web.Response:
    """Render a page with what every page shows (the viewer, the CSRF token, the menu).

    The flash message an action left is shown once: its cookie is forgotten.
    """
    flash = read_flash(request)
    base = {
        "viewer": request.get(VIEWER_KEY),
        "csrf": request.get(CSRF_KEY, ""),
        "path": request.path,
        "back": request.path_qs,
        "flash": flash,
    }
    response = aiohttp_jinja2.render_template(template, request, base | context, status=status)
    if FLASH_COOKIE in request.cookies:
        response.del_cookie(FLASH_COOKIE, path="/web/")
    return response
