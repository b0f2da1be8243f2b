"""Logging in by one-time link, the session cookie, CSRF tokens and the security headers.

A link (``/web`` in chat, ``pgibot web link``) opens a page with one button: the link is used
only when the button is pressed (a POST), so that a chat app's link preview, which fetches the
address, does not use it up. Pressing it opens a session: a random cookie (HttpOnly,
SameSite=Lax, Secure when the dashboard's address is https, expiring with the session) whose
SHA-256 is the session's key in the database. The member behind it is read again, and must
still be active, on every request. Every form carries a CSRF token derived from the session's
cookie (HMAC-SHA-256), checked on every POST. Every answer carries a strict
Content-Security-Policy: no script at all, styles and images from the dashboard only.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web

from bot.core.i18n import _, set_language, set_timezone
from bot.dashboard.access import VIEWER_KEY, Viewer
from bot.dashboard.config import CSRF_KEY, DASHBOARD_KEY
from bot.dashboard.render import page
from storage.db import DatabaseError
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

COOKIE = "pgibot_session"
LINK_MINUTES = 10
"""How long a login link stays valid."""
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
PUBLIC = ("login", "static")
"""The routes that need no session (by route name prefix)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def csrf_token(cookie: str) -> str:
    """Return the CSRF token of a session: an HMAC of its cookie, which pages never show."""
    return hmac.new(cookie.encode(), b"pgibot-csrf", hashlib.sha256).hexdigest()


def check_csrf(request: web.Request, sent: object) -> None:
    """Refuse a form whose CSRF token is not the session's (403, politely)."""
    expected = request.get(CSRF_KEY, "")
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise refusal(
            request,
            403,
            _(
                "This form has expired or did not come from the dashboard. Please open the page "
                "again and retry; nothing was changed."
            ),
        )


class Refused(Exception):
    """A request answered with a polite page instead of what it asked (nothing changed)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def refusal(request: web.Request, status: int, message: str) -> Refused:
    """Return the refusal of a request: an HTTP status and a polite page saying why."""
    return Refused(status, message)


def audit(uow: UnitOfWork, request: web.Request, action: str, **detail: object) -> None:
    """Write an audit entry about the request's member (or ``member_id``), channel ``web``."""
    viewer = request.get(VIEWER_KEY)
    named = detail.pop("member_id", None)
    uow.audit.record(
        action,
        now=request.app[DASHBOARD_KEY].clock.now(),
        member_id=viewer.member.id if viewer else (named if isinstance(named, int) else None),
        channel="web",
        user_id=None,
        **detail,
    )


@web.middleware
async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Speak Vietnamese in the plan's zone, and add the security headers to every answer."""
    dashboard = request.app[DASHBOARD_KEY]
    set_language("vi")
    set_timezone(dashboard.zone)
    try:
        response = await handler(request)
    except web.HTTPException as error:
        error.headers.update(HEADERS)
        raise
    except Refused as refused:
        response = page(
            "message.html",
            request,
            {"title": _("Not available"), "message": refused.message},
            status=refused.status,
        )
    except DatabaseError:
        logger.warning("the dashboard cannot reach the database")
        response = page(
            "message.html",
            request,
            {
                "title": _("Not available"),
                "message": _(
                    "The database cannot be reached at the moment. Please try again in a few "
                    "minutes."
                ),
            },
            status=503,
        )
    response.headers.update(HEADERS)
    return response


@web.middleware
async def session(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Find the member behind the session cookie; send everyone else to the login help."""
    name = request.match_info.route.name or ""
    cookie = request.cookies.get(COOKIE, "")
    dashboard = request.app[DASHBOARD_KEY]
    viewer = None
    if cookie and len(cookie) <= 128:
        async with UnitOfWork(dashboard.database).reading() as reads:
            member_id = await reads.web_logins.session_member(cookie, dashboard.clock.now())
            member = await reads.members.get(member_id) if member_id is not None else None
        if member is not None and member.active:
            viewer = Viewer(member)
            request[VIEWER_KEY] = viewer
            request[CSRF_KEY] = csrf_token(cookie)
    if viewer is None and not name.startswith(PUBLIC):
        raise refusal(
            request,
            401,
            _(
                "You are not logged in, or your session has ended. To open the dashboard, send "
                "/web to the bot in Telegram or Zalo and open the link it gives you (valid for "
                "10 minutes)."
            ),
        )
    return await handler(request)


def _refused_link(request: web.Request) -> Refused:
    return refusal(
        request,
        410,
        _(
            "This login link has already been used or has expired (a link is valid for 10 "
            "minutes and opens the dashboard once). Please send /web to the bot again for a new "
            "link."
        ),
    )


async def login_page(request: web.Request) -> web.StreamResponse:
    """Show the button that uses a login link (a GET changes nothing)."""
    dashboard = request.app[DASHBOARD_KEY]
    token = request.match_info["token"]
    async with UnitOfWork(dashboard.database).reading() as reads:
        member_id = await reads.web_logins.link_member(token, dashboard.clock.now())
        member = await reads.members.get(member_id) if member_id is not None else None
    if member is None or not member.active:
        raise _refused_link(request)
    return page("login.html", request, {"member": member, "token": token})


async def login(request: web.Request) -> web.StreamResponse:
    """Use a login link once and open a session; refuse a used or expired link politely."""
    dashboard = request.app[DASHBOARD_KEY]
    token = request.match_info["token"]
    now = dashboard.clock.now()
    async with UnitOfWork(dashboard.database) as uow:
        member_id = await uow.web_logins.use_link(token, now)
        member = await uow.members.get(member_id) if member_id is not None else None
        if member is None or not member.active:
            audit(uow, request, "web.login_refused", member_id=member_id)
            await uow.commit()
            raise _refused_link(request)
        cookie = uow.web_logins.open_session(
            member.id, now, timedelta(hours=dashboard.session_hours)
        )
        audit(uow, request, "web.login", member_id=member.id)
        await uow.commit()
    logger.info("dashboard: member %s logged in", member.id)
    response = web.HTTPSeeOther(location=str(request.app.router["overview"].url_for()))
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=dashboard.session_hours * 3600,
        path="/web/",
        httponly=True,
        samesite="Lax",
        secure=dashboard.secure,
    )
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    """End the session (a POST with the CSRF token) and forget the cookie."""
    form = await request.post()
    check_csrf(request, form.get("csrf"))
    dashboard = request.app[DASHBOARD_KEY]
    async with UnitOfWork(dashboard.database) as uow:
        await uow.web_logins.end_session(request.cookies.get(COOKIE, ""), dashboard.clock.now())
        audit(uow, request, "web.logout")
        await uow.commit()
    response = page(
        "message.html",
        request,
        {
            "title": _("Logged out"),
            "message": _(
                "You have logged out of the dashboard. To open it again, send /web to the bot."
            ),
            "viewer": None,
        },
    )
    response.del_cookie(COOKIE, path="/web/")
    return response
