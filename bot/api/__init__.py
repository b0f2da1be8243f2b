"""The read-only API for other provincial systems, and the download links' route.

Usage (in :func:`bot.web.create_app`)::

    add_routes(app, ApiServices(database, clock, links))

``/api/v1/…`` is a sub-application with its own middleware (:mod:`bot.api.auth`: a Bearer
key on every call but the OpenAPI document, every call logged without the key); its handlers
are in :mod:`bot.api.v1` and its document in :mod:`bot.api.openapi`. ``GET /files/{token}``
(:mod:`bot.api.files`) gives the file behind a download link. Everything is read through the
unit of work's repositories.
"""

from __future__ import annotations

from aiohttp import web

from bot.api import files, v1
from bot.api.services import API_PREFIX, FILES_PREFIX, SERVICES, ApiServices

__all__ = ["API_PREFIX", "FILES_PREFIX", "ApiServices", "add_routes"]


def add_routes(app: web.Application, services: ApiServices | None) -> None:
    """Add ``/api/v1`` and ``/files/{token}`` to the web application (nothing if None)."""
    if services is None:
        return
    app[SERVICES] = services
    app.add_subapp(API_PREFIX, v1.application(services))
    # GET only: a HEAD (a link preview's probe) must not use up a one-use link.
    app.router.add_get(FILES_PREFIX + "{token}", files.download, allow_head=False)
