"""Read and validate a plan file, pointing at the file, line and field of any fault."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import NoReturn

import yaml
from pydantic import ValidationError

from bot.core.i18n import _
from bot.core.validation import reason as validation_reason
from storage.plan_schema import PlanDocument, TaskSpec

DEFAULT_PLAN = "lang_son_pgi.yaml"

Location = Sequence[str | int]
Fail = Callable[[Location, str], NoReturn]


class PlanFileError(ValueError):
    """A plan file that cannot be imported; says where and why."""

    def __init__(self, path: Path, line: int | None, field: str, reason: str) -> None:
        self.path, self.line, self.field, self.reason = path, line, field, reason
        where = f"{path}:{line}" if line else str(path)
        super().__init__(
            _("%(where)s: field %(field)s: %(reason)s")
            % {"where": where, "field": field or "-", "reason": reason}
        )


@dataclass(frozen=True)
class LoadedPlan:
    """A validated plan file."""

    path: Path
    sha256: str
    document: PlanDocument

    def all_tasks(self) -> Iterator[tuple[str | None, TaskSpec]]:
        """Yield every task with the code of its index (None for organisational tasks)."""
        for index in self.document.indices:
            for task in index.tasks:
                yield index.code, task
        for task in self.document.organisational_tasks:
            yield None, task


def default_plan_path() -> Path:
    """Return the path of the plan shipped with the package."""
    return Path(str(resources.files("storage") / "plans" / DEFAULT_PLAN))


def read_plan(path: Path) -> LoadedPlan:
    """Read, parse and validate a plan file; raise PlanFileError at the first fault."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise PlanFileError(
            path,
            None,
            "",
            _("cannot read the file (%(error)s)") % {"error": error.strerror or error},
        ) from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PlanFileError(path, None, "", _("the file is not UTF-8 text")) from error
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else None
        raise PlanFileError(
            path, line, "", _("not valid YAML (%(problem)s)") % {"problem": error.problem}
        ) from error
    if not isinstance(data, dict) or root is None:
        raise PlanFileError(path, 1, "", _("the file must be a YAML mapping"))
    try:
        document = PlanDocument.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        loc = [part for part in first["loc"] if isinstance(part, str | int)]
        reason = validation_reason(first["type"], str(first["msg"]))
        raise PlanFileError(path, _line_of(root, loc), _dotted(loc), reason) from error
    loaded = LoadedPlan(path, hashlib.sha256(raw).hexdigest(), document)
    _check_references(loaded, root)
    return loaded


def _check_references(loaded: LoadedPlan, root: yaml.Node) -> None:
    doc = loaded.document

    def fail(loc: Location, reason: str) -> NoReturn:
        raise PlanFileError(loaded.path, _line_of(root, loc), _dotted(loc), reason)

    agencies = _unique(
        [(("agencies", i, "code"), a.code) for i, a in enumerate(doc.agencies)], fail
    )
    groups = _unique([(("groups", i, "code"), g.code) for i, g in enumerate(doc.groups)], fail)
    for code in agencies & groups:
        fail(("groups",), _("%(code)s is both an agency and a group") % {"code": code})
    for i, group in enumerate(doc.groups):
        for j, member in enumerate(group.members):
            if member not in agencies:
                fail(("groups", i, "members", j), _unknown_agency(member))
    milestones = _unique(
        [(("milestones", i, "code"), m.code) for i, m in enumerate(doc.milestones)]
        + [
            (("cycles", "progress_reports", i, "code"), p.code)
            for i, p in enumerate(doc.cycles.progress_reports)
        ],
        fail,
    )
    _unique([(("indices", i, "code"), x.code) for i, x in enumerate(doc.indices)], fail)
    for i, index in enumerate(doc.indices):
        if abs(index.baseline_score + index.increase - index.target_score) > 0.005:
            fail(
                ("indices", i, "target_score"),
                _("target_score must equal baseline_score + increase"),
            )
    task_locations: list[tuple[Location, TaskSpec]] = [
        (("indices", i, "tasks", j), task)
        for i, index in enumerate(doc.indices)
        for j, task in enumerate(index.tasks)
    ] + [(("organisational_tasks", j), task) for j, task in enumerate(doc.organisational_tasks)]
    tasks = _unique([((*loc, "code"), task.code) for loc, task in task_locations], fail)
    assignable = agencies | groups
    section_ii_leads = {g.code for g in doc.groups if g.section_ii_leads}
    for loc, task in task_locations:
        for field in ("leads", "supports"):
            for k, code in enumerate(getattr(task, field)):
                if code not in assignable:
                    fail((*loc, field, k), _unknown_agency(code))
                if code in section_ii_leads and loc[0] == "indices":
                    fail(
                        (*loc, field, k),
                        _("%(code)s names the leads of section II: only section III may use it")
                        % {"code": code},
                    )
        if task.milestone and task.milestone not in milestones:
            fail((*loc, "milestone"), _("unknown milestone %(code)s") % {"code": task.milestone})
    if doc.plan.coordinator not in agencies:
        fail(("plan", "coordinator"), _unknown_agency(doc.plan.coordinator))
    for i, milestone in enumerate(doc.milestones):
        if milestone.source_task and milestone.source_task not in tasks:
            fail(
                ("milestones", i, "source_task"),
                _("unknown task %(code)s") % {"code": milestone.source_task},
            )
    known = set(agencies)
    for i, change in enumerate(doc.reorganisations):
        if change.action == "add":
            known.add(change.agency)
        elif change.agency not in known:
            fail(("reorganisations", i, "agency"), _unknown_agency(change.agency))
        if change.into and change.into not in known:
            fail(("reorganisations", i, "into"), _unknown_agency(change.into))
    named = {task.code: {*task.leads, *task.supports} for _, task in task_locations}
    for i, succession in enumerate(doc.successions):
        if succession.task is not None:
            if succession.task not in tasks:
                fail(
                    ("successions", i, "task"),
                    _("unknown task %(code)s") % {"code": succession.task},
                )
            if succession.succeeded not in named[succession.task]:
                fail(
                    ("successions", i, "succeeded"),
                    _("task %(task)s names no agency or group %(code)s")
                    % {"task": succession.task, "code": succession.succeeded},
                )
        elif succession.succeeded not in groups:
            fail(
                ("successions", i, "succeeded"),
                _("%(code)s is not a group: an agency is succeeded by a merger")
                % {"code": succession.succeeded},
            )
        if succession.by not in known | groups:
            fail(("successions", i, "by"), _unknown_agency(succession.by))
        if section_ii_leads & {succession.succeeded, succession.by}:
            fail(
                ("successions", i, "by"),
                _("the leads of section II follow their tasks and are not succeeded"),
            )


def _unknown_agency(code: str) -> str:
    return _("unknown agency or group %(code)s") % {"code": code}


def _unique(entries: list[tuple[Location, str]], fail: Fail) -> set[str]:
    seen: set[str] = set()
    for loc, code in entries:
        if code in seen:
            fail(loc, _("the code %(code)s appears more than once") % {"code": code})
        seen.add(code)
    return seen


def _dotted(loc: Location) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _line_of(root: yaml.Node, loc: Location) -> int:
    """Return the 1-based line of the node a location points at (or its nearest parent)."""
    node = root
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if getattr(key, "value", None) == part:
                    child = value
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
        if child is None:
            break
        node = child
    return int(node.start_mark.line) + 1
