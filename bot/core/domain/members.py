"""Members and the rules about people: names, agency look-ups, roles, who may change whom.

Plain dataclasses and pure functions, the same on every database: names are compared by keys
computed here (and stored beside the names where a query needs them), never by the database's
``lower()``, which on SQLite folds ASCII letters only.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from bot.core.text import normalize

# --- names -----------------------------------------------------------------------------------


def name_key(text: str) -> str:
    """Return the key two spellings of one name share: NFC, case-folded, whitespace collapsed.

    "ĐẶNG  Văn Đức" and "đặng văn đức" have the same key; "Dang Van Duc" does not (see
    :func:`ascii_key`).
    """
    return unicodedata.normalize("NFC", normalize(text).casefold())


def ascii_key(text: str) -> str:
    """Return the key of a name typed without diacritics: "Sở Xây dựng" ~ "so xay dung"."""
    decomposed = unicodedata.normalize("NFD", name_key(text).replace("đ", "d"))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


# --- agencies --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NamedThing:
    """Something a person may name by its code, its name, its short name or a former name."""

    id: int
    code: str
    name: str
    short_name: str
    other_names: tuple[str, ...] = ()
    active: bool = True


@dataclass(frozen=True, slots=True)
class NameMatch:
    """What a typed name found: one thing, several, or none with suggestions."""

    found: tuple[NamedThing, ...]
    """One thing when the name is clear, several when it names more than one."""
    suggestions: tuple[NamedThing, ...] = ()
    """When nothing was found: the closest names, best first."""

    @property
    def unique(self) -> NamedThing | None:
        """Return the one thing found, if the name was clear."""
        return self.found[0] if len(self.found) == 1 else None


SUGGESTIONS = 3
"""How many close names to suggest when nothing matches."""


def match_name(typed: str, things: Sequence[NamedThing]) -> NameMatch:
    """Find what a person means by a typed name, from the clearest reading to the loosest.

    In order, the first rule that finds something wins: the code or a name exactly (case and
    spacing aside); the same without diacritics ("so xay dung"); then a part of a name, whole
    words ("Tràng Định" finds "UBND huyện Tràng Định"), with or without diacritics. When a rule
    finds several things and some are active, the inactive ones (merged, retired) are dropped.
    When nothing is found, the closest names are suggested.
    """
    wanted, wanted_ascii = name_key(typed), ascii_key(typed)
    if not wanted:
        return NameMatch(())

    def names(thing: NamedThing) -> list[str]:
        return [thing.code, thing.name, thing.short_name, *thing.other_names]

    rules: tuple[Callable[[str], bool], ...] = (
        lambda name: name_key(name) == wanted,
        lambda name: ascii_key(name) == wanted_ascii,
        lambda name: _has_words(name_key(name), wanted),
        lambda name: _has_words(ascii_key(name), wanted_ascii),
    )
    for rule in rules:
        found = [t for t in things if any(rule(n) for n in names(t))]
        if found:
            active = [t for t in found if t.active]
            return NameMatch(tuple(active or found))
    return NameMatch((), _closest(wanted_ascii, things))


def _has_words(name: str, part: str) -> bool:
    """Tell whether ``part`` is a run of whole words of ``name``."""
    return f" {part} " in f" {name} "


def _closest(wanted_ascii: str, things: Sequence[NamedThing]) -> tuple[NamedThing, ...]:
    by_key: dict[str, NamedThing] = {}
    for thing in sorted(things, key=lambda t: not t.active):
        for name in (thing.name, thing.short_name, thing.code):
            by_key.setdefault(ascii_key(name), thing)
    suggestions: list[NamedThing] = []
    for key in difflib.get_close_matches(wanted_ascii, by_key, n=SUGGESTIONS * 3, cutoff=0.5):
        if by_key[key] not in suggestions:
            suggestions.append(by_key[key])
    return tuple(suggestions[:SUGGESTIONS])


# --- roles -----------------------------------------------------------------------------------


class Role(StrEnum):
    """What a member may do (design §3)."""

    OFFICER = "officer"
    LEADER = "leader"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


ROLE_RANK = {"officer": 0, "leader": 1, "coordinator": 2, "admin": 3}
"""Roles from the least to the most powerful (the values stored for a member's role)."""

ROLE_WORDS = {
    "officer": "canbo",
    "leader": "lanhdao",
    "coordinator": "dieuphoi",
    "admin": "quantri",
}
"""The word that names each role in commands (``/moi``, ``pgibot invite create --role``)."""

_ROLE_ALIASES = {
    **{word: role for role, word in ROLE_WORDS.items()},
    **{role: role for role in ROLE_RANK},
    "can bo": "officer",
    "can bo dau moi": "officer",
    "lanh dao": "leader",
    "dieu phoi": "coordinator",
    "dieu phoi vien": "coordinator",
    "quan tri": "admin",
    "quan tri vien": "admin",
}


def parse_role(word: str) -> str | None:
    """Return the role a typed word names ("canbo", "officer", "cán bộ"...), or None."""
    return _ROLE_ALIASES.get(ascii_key(word).replace("-", " ").replace("_", " "))


class Change(StrEnum):
    """What one member (or the administrator) does to another member."""

    DEACTIVATE = "deactivate"
    REINSTATE = "reinstate"
    SET_ROLE = "set_role"
    MOVE = "move"
    """Move to another agency."""


class Refusal(StrEnum):
    """Why a change to a member is refused."""

    SELF = "self"
    """Nobody changes their own standing (they would lock themselves out)."""
    HIGHER_ROLE = "higher_role"
    """The member has a higher role than the one who acts."""
    ROLE_TOO_HIGH = "role_too_high"
    """Nobody gives a role higher than their own."""
    LAST_ADMIN = "last_admin"
    """The last active administrator cannot be deactivated or lose the role."""
    NOTHING_TO_DO = "nothing_to_do"
    """The member is already as asked."""
    COORDINATOR_ELSEWHERE = "coordinator_elsewhere"
    """Coordinators belong to the coordinating agency (as invitations have it)."""
    AGENCY_RETIRED = "agency_retired"
    """Nobody is moved to an agency that no longer reports."""
    AGENCY_ENDED = "agency_ended"
    """Nobody is reinstated into an agency that no longer exists."""


def member_change_refusal(
    change: Change,
    *,
    actor_role: str | None,
    target_role: str,
    target_active: bool,
    self_change: bool = False,
    new_role: str | None = None,
    active_admins: int = 1,
    same_agency: bool = False,
    agency_active: bool = True,
    coordinator_elsewhere: bool = False,
    agency_ended: bool = False,
) -> Refusal | None:
    """Say why a change to a member may not be made, or None when it may.

    Args:
        change: what is to be done.
        actor_role: the role of the member who acts; None for the server's administrator at
            the command line, who stands above every role.
        target_role: the role the member has now.
        target_active: whether the member is active now.
        self_change: whether the actor is the member.
        new_role: for a change of role, the role to give.
        active_admins: how many active administrators there are now.
        same_agency: for a move, whether the agency is the member's own already.
        agency_active: for a move, whether the agency still reports.
        coordinator_elsewhere: whether the member would be a coordinator outside the
            coordinating agency after the change (by role or by agency).
        agency_ended: whether the member's agency no longer exists.
    """
    actor_rank = ROLE_RANK[actor_role] if actor_role is not None else len(ROLE_RANK)
    if self_change:
        return Refusal.SELF
    if ROLE_RANK[target_role] > actor_rank:
        return Refusal.HIGHER_ROLE
    if change is Change.SET_ROLE:
        assert new_role is not None, "a change of role names the new role"
        if ROLE_RANK[new_role] > actor_rank:
            return Refusal.ROLE_TOO_HIGH
        if new_role == target_role:
            return Refusal.NOTHING_TO_DO
    if change is Change.MOVE:
        if same_agency:
            return Refusal.NOTHING_TO_DO
        if not agency_active:
            return Refusal.AGENCY_RETIRED
    if coordinator_elsewhere and change in (Change.SET_ROLE, Change.MOVE):
        return Refusal.COORDINATOR_ELSEWHERE
    if change is Change.REINSTATE and target_active:
        return Refusal.NOTHING_TO_DO
    if change is Change.REINSTATE and agency_ended:
        return Refusal.AGENCY_ENDED
    if change is Change.DEACTIVATE and not target_active:
        return Refusal.NOTHING_TO_DO
    removes_admin = change is Change.DEACTIVATE or (
        change is Change.SET_ROLE and new_role != "admin"
    )
    if target_role == "admin" and target_active and removes_admin and active_admins <= 1:
        return Refusal.LAST_ADMIN
    return None


# --- members and invitations -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """A registered person and the agency they act for."""

    id: int
    full_name: str
    role: Role
    agency_id: int
    agency_code: str
    agency_name: str
    active: bool
    language: str
    agency_valid_to: date | None = None
    """The first day the member's agency no longer exists (None: it still does)."""

    def agency_ended(self, today: date) -> bool:
        """Tell whether the member's agency has ended by a day."""
        return self.agency_valid_to is not None and self.agency_valid_to <= today


@dataclass(frozen=True, slots=True)
class InvitationInfo:
    """An invitation code and what it grants."""

    id: int
    code: str
    agency_id: int
    agency_code: str
    agency_name: str
    role: Role
    max_uses: int
    used_count: int
    expires_at: datetime
    revoked: bool
    agency_ended_on: date | None = None
    """The first day the agency no longer exists, if it has an end (a merger, a retirement)."""
