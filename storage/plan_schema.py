"""The schema of a plan file (YAML), validated with pydantic; see docs/plan-format.md."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from bot.core.i18n import _

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"
DUE_PATTERN = re.compile(r"^(\d{2})/(\d{2})$")

Code = Annotated[str, Field(pattern=CODE_PATTERN)]
Text = Annotated[str, Field(min_length=1, max_length=5000)]
Title = Annotated[str, Field(min_length=1, max_length=300)]
Score = Annotated[float, Field(ge=0, le=100)]

AgencyKind = Literal[
    "department",
    "police",
    "military",
    "press",
    "district",
    "commune",
    "association",
    "front",
    "other",
]
MilestoneKind = Literal[
    "implementation_plan", "progress_report", "final_report", "consolidated_report"
]
ReorganisationAction = Literal["rename", "merge", "retire", "add"]
PeriodKind = Literal["year", "half_year", "quarter"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def parse_due(value: str) -> tuple[int, int]:
    """Parse a recurring due date written ``dd/mm`` into (month, day)."""
    match = DUE_PATTERN.match(value)
    if not match:
        raise ValueError(_("must be written dd/mm, e.g. 10/12"))
    day, month = int(match.group(1)), int(match.group(2))
    try:
        date(2023, month, day)  # a year without 29/02: the date must exist every year
    except ValueError as error:
        raise ValueError(
            _("%(value)s is not a date that exists every year") % {"value": value}
        ) from error
    return month, day


def _valid_due(value: str) -> str:
    parse_due(value)
    return value


Due = Annotated[str, AfterValidator(_valid_due)]


class Baseline(_Strict):
    """The plan's overall starting point."""

    year: int = Field(ge=2000, le=2100)
    score: Score
    rank: int | None = Field(default=None, ge=1)
    out_of: int | None = Field(default=None, ge=1)


class PlanHeader(_Strict):
    """What the plan is and who coordinates it."""

    code: Code
    title: Text
    short_title: Title
    province: Title
    issuer: Title
    signer: Title | None = None
    coordinator: Code
    goal: Text | None = None
    baseline: Baseline | None = None


class ProgressReport(_Strict):
    """A periodic progress report, such as a quarterly one."""

    code: Code
    title: Title
    due: Due
    period: PeriodKind = "quarter"
    """What its figures cover: a quarter by default, or ``half_year``."""
    cutoff: Due | None = None
    """The last day its figures count (default: the period's, see docs/plan-format.md)."""


class Cycles(_Strict):
    """How the plan repeats."""

    first_year: int = Field(ge=2000, le=2100)
    every: Literal["year"] = "year"
    progress_reports: list[ProgressReport] = Field(default_factory=list)


class MilestoneSpec(_Strict):
    """A deadline that recurs every cycle."""

    code: Code
    kind: MilestoneKind
    title: Title
    due: Due
    recipients: Literal["assigned", "coordinator"] = "assigned"
    source_task: Code | None = None
    period: PeriodKind = "year"
    cutoff: Due | None = None
    """The last day its figures count (default: the day before ``PGIBOT_PERIOD_START``)."""


class AgencySpec(_Strict):
    """An agency the plan names, and the first day it exists if it came later."""

    code: Code
    name: Title
    short_name: Title
    kind: AgencyKind
    valid_from: date | None = None


class GroupSpec(_Strict):
    """A group of agencies: named members, or every agency of some kinds."""

    code: Code
    name: Title
    members: list[Code] = Field(default_factory=list)
    kinds: list[AgencyKind] = Field(default_factory=list)
    exclude_named_in_index: bool = False
    section_ii_leads: bool = False
    """Every agency that leads a task of section II on the day (named by section III only)."""

    @model_validator(mode="after")
    def _members_or_kinds(self) -> GroupSpec:
        if not self.members and not self.kinds and not self.section_ii_leads:
            raise ValueError(_("a group needs members or kinds"))
        return self


class TaskSpec(_Strict):
    """A task of the plan with the agencies that lead and support it."""

    code: Code
    title: Title
    text: Text
    leads: list[Code] = Field(min_length=1)
    supports: list[Code] = Field(default_factory=list)
    note: Text | None = None
    milestone: Code | None = None


class IndexSpec(_Strict):
    """A component index with its scores and tasks."""

    code: Code
    name: Title
    baseline_year: int = Field(ge=2000, le=2100)
    baseline_score: Score
    target_score: Score
    increase: float
    change_from_previous_year: float | None = None
    note: Text | None = None
    tasks: list[TaskSpec] = Field(min_length=1)


class Reorganisation(_Strict):
    """A change of the administration: an agency added, renamed, merged or retired."""

    since: date
    action: ReorganisationAction
    agency: Code
    into: Code | None = None
    name: Title | None = None
    short_name: Title | None = None
    kind: AgencyKind | None = None

    @model_validator(mode="after")
    def _fields_for_action(self) -> Reorganisation:
        if self.action == "merge" and not self.into:
            raise ValueError(_("a merge needs `into`"))
        if self.action in ("rename", "add") and not self.name:
            raise ValueError(_("`%(action)s` needs `name`") % {"action": self.action})
        if self.action == "add" and not self.kind:
            raise ValueError(_("`add` needs `kind`"))
        return self


class SuccessionSpec(_Strict):
    """From a date, a group (for every task) or a code one task names stands for another."""

    since: date
    succeeded: Code
    by: Code
    task: Code | None = None


class DeclaredDaySpec(_Strict):
    """One day the province declares, with the decision it comes from."""

    date: date
    reason: Title


class CalendarSpec(_Strict):
    """Days off and working days the province declares on top of the national calendar."""

    days_off: list[DeclaredDaySpec] = Field(default_factory=list)
    working_days: list[DeclaredDaySpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _each_day_once(self) -> CalendarSpec:
        days = [d.date for d in self.days_off + self.working_days]
        twice = sorted({d for d in days if days.count(d) > 1})
        if twice:
            raise ValueError(
                _("a day is declared more than once: %(days)s")
                % {"days": ", ".join(f"{d:%d/%m/%Y}" for d in twice)}
            )
        return self


class ResultSpec(_Strict):
    """A published PGI figure of a year: an index's score (no index: the total) and the rank."""

    year: int = Field(ge=2000, le=2100)
    index: Code | None = None
    score: Score
    rank: int | None = Field(default=None, ge=1)
    out_of: int | None = Field(default=None, ge=1)


class PlanDocument(_Strict):
    """A whole plan file."""

    schema_version: Literal[1]
    plan: PlanHeader
    cycles: Cycles
    milestones: list[MilestoneSpec] = Field(min_length=1)
    agencies: list[AgencySpec] = Field(min_length=1)
    groups: list[GroupSpec] = Field(default_factory=list)
    indices: list[IndexSpec] = Field(min_length=1)
    organisational_tasks: list[TaskSpec] = Field(default_factory=list)
    reorganisations: list[Reorganisation] = Field(default_factory=list)
    successions: list[SuccessionSpec] = Field(default_factory=list)
    calendar: CalendarSpec = Field(default_factory=CalendarSpec)
    results: list[ResultSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _results_name_indices(self) -> PlanDocument:
        codes = {index.code for index in self.indices}
        seen: set[tuple[int, str | None]] = set()
        for result in self.results:
            if result.index is not None and result.index not in codes:
                raise ValueError(
                    _("results: the plan has no index %(code)s") % {"code": result.index}
                )
            if (result.year, result.index) in seen:
                raise ValueError(
                    _("results: %(year)s is given twice for one index") % {"year": result.year}
                )
            seen.add((result.year, result.index))
        return self
