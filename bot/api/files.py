"""``GET /files/{token}``: the file behind a download link, or a polite page saying why not."""

from __future__ import annotations

import html
import logging
from urllib.parse import quote

from aiohttp import web

from bot.api.services import SERVICES
from bot.core.domain.access import LinkRefusal
from bot.core.i18n import _

logger = logging.getLogger(__name__)

MAX_TOKEN = 100
"""The longest token looked up (a real one is 32 characters)."""


async def download(request: web.Request) -> web.StreamResponse:
    """Send the link's file as an attachment, or a page explaining the refusal."""
    links = request.app[SERVICES].links
    token = request.match_info["token"]
    if links is None or len(token) > MAX_TOKEN:
        return _refusal(LinkRefusal.UNKNOWN)
    found = await links.take(token)
    if isinstance(found, LinkRefusal):
        logger.info("download link refused: %s", found.value)
        return _refusal(found)
    logger.info("download link used: %s (%d bytes)", found.file.file_name, found.file.size)
    name = found.file.file_name
    return web.FileResponse(
        found.path,
        headers={
            "Content-Type": found.file.media_type,
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _refusal(refusal: LinkRefusal) -> web.Response:
    """A small page in Vietnamese: the link has expired, was used, or never existed."""
    if refusal is LinkRefusal.EXPIRED:
        message = _(
            "This download link has expired. Please ask the bot for the file again "
            "(for example /tonghop) to receive a new link."
        )
    elif refusal is LinkRefusal.USED:
        message = _(
            "This download link has already been used. Please ask the bot for the file "
            "again to receive a new link."
        )
    else:
        message = _("This download link does not exist. Please check the address you opened.")
    title = _("File download")
    page = (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>"
    )
    status = 404 if refusal is LinkRefusal.UNKNOWN else 410
    return web.Response(
        text=page,
        status=status,
        content_type="text/html",
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'",
        },
    )
