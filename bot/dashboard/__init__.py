"""The web dashboard: the plan's state for the coordinator, the leaders and the officers.

Server-rendered pages under ``/web/`` (Jinja2 templates, the bot's Vietnamese catalog, a
stylesheet and SVG charts shipped in the package: nothing is fetched from elsewhere), opened
by a one-time login link. :func:`dashboard_app` makes the sub-application that
:func:`bot.web.create_app` mounts; ``pgibot run`` and ``pgibot web`` serve it.

Usage::

    app.add_subapp("/web/", dashboard_app(Dashboard(database, clock, data_dir, url)))
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.dashboard import (
    actions,
    explaining,
    extending,
    render,
    reopening,
    reviewing,
    security,
    views,
)
from bot.dashboard.config import DASHBOARD_KEY, Dashboard

__all__ = ["Dashboard", "dashboard_app"]

ACTION_MODULES = (reviewing, explaining, reopening, extending)
"""The modules whose actions :func:`actions.add_routes` adds (importing them registers them)."""

STATIC = Path(__file__).parent / "static"


def dashboard_app(dashboard: Dashboard) -> web.Application:
    """Build the dashboard's application (mounted under ``/web/``)."""
    app = web.Application(middlewares=[security.headers, security.session])
    app[DASHBOARD_KEY] = dashboard
    render.setup(app)
    app.router.add_get("/", views.overview, name="overview")
    app.router.add_get("/agencies", views.agencies, name="agencies")
    app.router.add_get(r"/agencies/{agency_id:\d{1,9}}", views.agency, name="agency")
    app.router.add_get("/tasks", views.tasks, name="tasks")
    app.router.add_get("/reports", views.reports, name="reports")
    app.router.add_get(r"/files/{year:\d{4}}/{key:[a-z]{1,8}}", views.download, name="file")
    app.router.add_get(r"/evidence/{attachment_id:\d{1,12}}", views.evidence, name="evidence")
    app.router.add_get(
        r"/login/{token:[A-Za-z0-9_-]{20,100}}", security.login_page, name="login_page"
    )
    app.router.add_post(r"/login/{token:[A-Za-z0-9_-]{20,100}}", security.login, name="login")
    app.router.add_post("/logout", security.logout, name="logout")
    actions.add_routes(app)  # the forms that change something (bot/dashboard/actions.py)
    app.router.add_static("/static/", STATIC, name="static")
    return app
