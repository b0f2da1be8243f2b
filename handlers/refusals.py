"""Why an agency was not found or not changed, in words: for the chats and the command line."""

from __future__ import annotations

from bot.core.domain.reorganisation import Refusal
from bot.core.i18n import _, format_day
from storage.agencies import AgencyError

AGENCIES_LISTED = 8
"""How many agencies a message about an unclear name lists."""


def agency_refusal(error: AgencyError) -> str:
    """Say, politely, why an agency was not found or a change to it not made."""
    refusal = error.refusal
    if refusal is Refusal.UNKNOWN_CODE:
        return _("There is no agency with the code %(code)s.") % {"code": error.code}
    if refusal is Refusal.AMBIGUOUS:
        return _(
            "“%(name)s” matches several agencies: %(agencies)s. Please write the agency's "
            "code or its full name."
        ) % {"name": error.name, "agencies": _agency_list(error.agencies)}
    if refusal is Refusal.UNKNOWN_NAME:
        unknown = _("There is no agency called %(name)s.") % {"name": error.name}
        if error.agencies:
            return (
                unknown
                + " "
                + _("Did you mean: %(agencies)s?") % {"agencies": _agency_list(error.agencies)}
            )
        return (
            unknown
            + " "
            + _("Please write the agency's code or name, for example sxd or Sở Xây dựng.")
        )
    if refusal is Refusal.CODE_TAKEN:
        return _("The code %(code)s already belongs to %(name)s.") % {
            "code": error.code,
            "name": error.name,
        }
    if refusal is Refusal.ENDED:
        values = {
            "date": format_day(error.on) if error.on else "",
            "agency": error.name,
            "successor": ", ".join(error.successors),
        }
        if error.successors:
            return (
                _(
                    "Since %(date)s, %(agency)s no longer exists; its tasks are carried out by "
                    "%(successor)s. Please make the invitation for the agency that took over."
                )
                % values
            )
        return (
            _(
                "Since %(date)s, %(agency)s no longer exists. Please make the invitation for an "
                "agency that exists today."
            )
            % values
        )
    if refusal is Refusal.PLAN_OUTDATED:
        return _(
            "The plan was imported by an older version; import it again "
            "(pgibot plan import FILE) before reorganising agencies."
        )
    if refusal is Refusal.SELF_MERGE:
        return _("An agency cannot be merged into itself.")
    if refusal is Refusal.TARGET_NOT_ACTIVE:
        return _("%(name)s is not active.") % {"name": error.name}
    if error.change == "merge":
        return _("%(name)s is no longer active and cannot be merged.") % {"name": error.name}
    return _("%(name)s is no longer active.") % {"name": error.name}


def _agency_list(agencies: tuple[tuple[str, str], ...]) -> str:
    shown = "; ".join(f"{name} ({code})" for name, code in agencies[:AGENCIES_LISTED])
    more = len(agencies) - AGENCIES_LISTED
    return shown + ("; " + _("and %(count)s more") % {"count": more} if more > 0 else "")
