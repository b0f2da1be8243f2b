"""``pgibot init`` and ``pgibot plan import|show``: import the plan, show it."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bot.cli.app import App, UsageError, command, out
from bot.core.domain.plan import PlanView
from bot.core.i18n import N_, _, format_score, ngettext
from handlers.agency_notices import tell_followers
from storage import migrate
from storage.plan_loader import default_plan_path, read_plan
from storage.uow import UnitOfWork

IMPORTED_KINDS = {
    "agency": N_("agencies"),
    "assignment": N_("assignments"),
    "calendar day": N_("declared days"),
    "cycle": N_("cycles"),
    "group": N_("agency groups"),
    "index": N_("indices"),
    "milestone": N_("dated milestones"),
    "milestone_rule": N_("milestones"),
    "plan": N_("plans"),
    "reorganisation": N_("reorganisations"),
    "result": N_("published PGI results"),
    "task": N_("tasks"),
}


async def cmd_init(app: App, args: argparse.Namespace) -> int:
    """Migrate the database and import the plan."""
    await migrate.upgrade(app.db.engine)
    out(_("Database ready (revision %(rev)s).") % {"rev": migrate.head_revision()})
    return await import_plan_file(app, Path(args.plan) if args.plan else default_plan_path())


async def cmd_plan_import(app: App, args: argparse.Namespace) -> int:
    """Import a plan file."""
    await app.ensure_migrated()
    return await import_plan_file(app, Path(args.file))


async def import_plan_file(app: App, path: Path) -> int:
    """Import the plan file at ``path`` and say what changed."""
    loaded = read_plan(path)
    async with UnitOfWork(app.db) as uow:
        report = await uow.plans.import_plan(loaded, today=app.today(), now=app.clock.now())
        await tell_followers(uow, app.clock.now())
        await uow.commit()
    if not report.changed:
        out(
            _("Plan %(code)s is already up to date; nothing changed.") % {"code": report.plan_code}
        )
        return 0
    out(_("Plan %(code)s imported from %(path)s.") % {"code": report.plan_code, "path": path})
    for label, bucket in (
        (_("created"), report.created),
        (_("updated"), report.updated),
        (_("deactivated or removed"), report.removed),
    ):
        if bucket:
            counts = ", ".join(
                f"{_(IMPORTED_KINDS.get(kind, kind))}: {count}"
                for kind, count in sorted(bucket.items())
            )
            out(f"  {label}: {counts}")
    return 0


async def cmd_plan_show(app: App, args: argparse.Namespace) -> int:
    """Print the plan: indices, tasks and their agencies."""
    await app.ensure_migrated()
    async with UnitOfWork(app.db) as uow:
        view = await uow.plans.view(app.today())
    if view is None:
        raise UsageError(_("No plan has been imported; run `pgibot init`."))
    if args.json:
        out(json.dumps(_plan_json(view), ensure_ascii=False, indent=2, default=str))
        return 0
    names = {a.code: a.short_name for a in view.agencies}
    out(view.title)
    for index_view in view.indices:
        index = index_view.index
        out()
        count = len(index_view.tasks)
        out(
            ngettext(
                "Index %(code)s. %(name)s — %(year)s: %(baseline)s, target: %(target)s "
                "(%(count)s task)",
                "Index %(code)s. %(name)s — %(year)s: %(baseline)s, target: %(target)s "
                "(%(count)s tasks)",
                count,
            )
            % {
                "code": index.code,
                "name": index.name,
                "year": index.baseline_year,
                "baseline": format_score(index.baseline_score),
                "target": format_score(index.target_score),
                "count": count,
            }
        )
        for task in index_view.tasks:
            _print_task(task.code, task.title, task.leads, task.supports, names)
    out()
    count = len(view.organisational_tasks)
    out(
        ngettext(
            "Organisation of implementation (%(count)s task)",
            "Organisation of implementation (%(count)s tasks)",
            count,
        )
        % {"count": count}
    )
    for task in view.organisational_tasks:
        _print_task(task.code, task.title, task.leads, task.supports, names)
    out()
    active = [a for a in view.agencies if a.exists_on(app.today())]
    out(
        ngettext(
            "%(agencies)s active agency; coordinator: %(coordinator)s",
            "%(agencies)s active agencies; coordinator: %(coordinator)s",
            len(active),
        )
        % {"agencies": len(active), "coordinator": names.get(view.coordinator or "", "-")}
    )
    out(_("Milestones:"))
    for milestone in view.milestones:
        out(f"  {milestone.due_date:%d/%m/%Y}  {milestone.title}")
    return 0


def _print_task(
    code: str, title: str, leads: list[str], supports: list[str], names: dict[str, str]
) -> None:
    out(f"  {code} {title}")
    out(
        "      "
        + _("lead (%(count)s): %(names)s")
        % {"count": len(leads), "names": ", ".join(names[c] for c in leads)}
    )
    if supports:
        out(
            "      "
            + _("support (%(count)s): %(names)s")
            % {"count": len(supports), "names": ", ".join(names[c] for c in supports)}
        )


def _plan_json(view: PlanView) -> dict[str, Any]:
    def task(t: Any) -> dict[str, Any]:
        return {"code": t.code, "title": t.title, "leads": t.leads, "supports": t.supports}

    return {
        "code": view.code,
        "title": view.title,
        "coordinator": view.coordinator,
        "indices": [
            {**asdict(iv.index), "tasks": [task(t) for t in iv.tasks]} for iv in view.indices
        ],
        "organisational_tasks": [task(t) for t in view.organisational_tasks],
        "agencies": [asdict(a) for a in view.agencies],
        "milestones": [asdict(m) for m in view.milestones],
    }


def add_parsers(sub: Any) -> None:
    """Add ``pgibot init`` and ``pgibot plan import|show`` to the parser."""
    p = command(sub, "init", _("migrate the database and import the plan"), cmd_init)
    p.add_argument("--plan", help=_("plan file (default: the shipped Lạng Sơn PGI plan)"))

    plan = command(sub, "plan", _("import or show the plan"))
    plan_sub = plan.add_subparsers(dest="plan_command", required=True, metavar=_("ACTION"))
    p = command(
        plan_sub, "import", _("import or update the plan from a YAML file"), cmd_plan_import
    )
    p.add_argument("file", help=_("the plan file (see docs/plan-format.md)"))
    p = command(plan_sub, "show", _("show indices, tasks and agencies"), cmd_plan_show)
    p.add_argument("--json", action="store_true", help=_("print JSON"))
