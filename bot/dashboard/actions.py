r"""The dashboard's actions: forms that change something, in one pattern.

An action is a POST route registered with :func:`action`: its name, its path, who may use it
(checked before the form is read) and the coroutine that does it through the same service as
the chat. :func:`run_action` gives every action the same frame: the CSRF token is checked, the
role is checked (a refusal is a polite 403 page, audited as ``permission.refused``), the
action runs, and the browser is sent back to the page it came from (redirect after post) with
a flash message in Vietnamese, which the next page shows once. Nothing else is needed to add
an action::

    @action("answer_extension", r"/extensions/{request_id:\d{1,12}}/answer", coordinators)
    async def answer_extension(call: ActionCall) -> Flash:
        ...
        return Flash(OK, _("..."))

and a form in a template: ``{{ action_form("answer_extension", {"request_id": r.id}, ...) }}``.
The flash travels in a short-lived cookie signed with the session's key, so that no one else
can put words on the page.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NoReturn

from aiohttp import web
from multidict import MultiDictProxy

from bot.core.i18n import _
from bot.dashboard.access import VIEWER_KEY, Viewer
from bot.dashboard.config import DASHBOARD_KEY, Dashboard
from bot.dashboard.flash import ERROR, FLASH_COOKIE, OK, WARNING, Flash, seal
from bot.dashboard.security import audit, check_csrf, refusal
from handlers.context import Actor
from storage.uow import UnitOfWork

__all__ = ["ERROR", "OK", "WARNING", "ActionCall", "Flash", "action", "add_routes"]

logger = logging.getLogger(__name__)

BACK_LIMIT = 500


@dataclass(frozen=True, slots=True)
class ActionCall:
    """One use of an action: who, the form they sent and the route's values."""

    request: web.Request
    viewer: Viewer
    dashboard: Dashboard
    form: MultiDictProxy[Any]
    name: str

    def actor(self) -> Actor:
        """Return the member as the actor of a shared service (channel ``web``)."""
        return Actor(self.viewer.member, "web")

    def number(self, key: str) -> int:
        """Return a number from the route (its pattern allows digits only)."""
        return int(self.request.match_info[key])

    def day(self, key: str) -> date | None:
        """Return a day of the form (the browser's yyyy-mm-dd, or dd/mm/yyyy typed), or None."""
        text = self.text(key, 20).strip()
        for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                return datetime.strptime(text, pattern).date()
            except ValueError:
                continue
        return None

    def text(self, key: str, limit: int = 5000) -> str:
        """Return a text field of the form ("" when missing), cut at ``limit`` characters."""
        value = self.form.get(key, "")
        return value[: limit + 1] if isinstance(value, str) else ""

    async def refuse(self, value: object) -> NoReturn:
        """Refuse what the viewer's role or agency does not allow, audited, politely."""
        await refuse_action(self.request, self.name, value)
        raise AssertionError  # pragma: no cover - refuse_action always raises


Run = Callable[[ActionCall], Awaitable[Flash]]
Allowed = Callable[[Viewer, Dashboard], bool]


@dataclass(frozen=True, slots=True)
class Action:
    """A registered action: route name and path, who may use it, what it does."""

    name: str
    path: str
    allowed: Allowed
    run: Run


ACTIONS: dict[str, Action] = {}
"""Every action, by route name (the modules that define them are imported by the app)."""


def action(name: str, path: str, allowed: Allowed) -> Callable[[Run], Run]:
    """Register a coroutine as the dashboard action ``name`` (a POST route at ``path``)."""

    def register(run: Run) -> Run:
        if name in ACTIONS:
            raise ValueError(f"the dashboard action {name!r} is registered twice")
        ACTIONS[name] = Action(name, path, allowed, run)
        return run

    return register


def add_routes(app: web.Application) -> None:
    """Add every registered action's POST route to the dashboard's application."""
    for entry in ACTIONS.values():
        app.router.add_post(entry.path, _handler(entry), name=entry.name)


def _handler(entry: Action) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await run_action(request, entry)

    return handle


async def run_action(request: web.Request, entry: Action) -> web.StreamResponse:
    """Check the CSRF token and the role, run the action, go back with its flash message."""
    form = await request.post()
    check_csrf(request, form.get("csrf"))
    viewer = request[VIEWER_KEY]
    dashboard = request.app[DASHBOARD_KEY]
    if not entry.allowed(viewer, dashboard):
        await refuse_action(request, entry.name, "")
    flash = await entry.run(ActionCall(request, viewer, dashboard, form, entry.name))
    response = web.Response(status=303, headers={"Location": _back(request, form.get("back"))})
    response.set_cookie(
        FLASH_COOKIE,
        seal(request, flash),
        max_age=120,
        path="/web/",
        httponly=True,
        samesite="Lax",
        secure=dashboard.secure,
    )
    return response


async def refuse_action(request: web.Request, name: str, value: object) -> NoReturn:
    """Write the refusal of an action to the audit log and answer 403 with a polite page."""
    dashboard = request.app[DASHBOARD_KEY]
    async with UnitOfWork(dashboard.database) as uow:
        audit(uow, request, "permission.refused", command="web", payload=f"{name}:{value}"[:64])
        await uow.commit()
    logger.info("dashboard: refused action %s %s to member %s", name, value, _member(request))
    raise refusal(
        request,
        403,
        _(
            "Sorry, this action is not available to your role, or not for this agency. "
            "Nothing was changed. Use the menu to go back."
        ),
    )


def _member(request: web.Request) -> int | None:
    viewer = request.get(VIEWER_KEY)
    return viewer.member.id if viewer else None


def _back(request: web.Request, wanted: object) -> str:
    """Return the dashboard page to go back to: the form's own page, never another site."""
    home = str(request.app.router["overview"].url_for())
    if (
        isinstance(wanted, str)
        and len(wanted) <= BACK_LIMIT
        and wanted.startswith(home)
        and "\\" not in wanted
        and not any(ord(c) < 32 for c in wanted)
    ):
        return wanted
    return home
