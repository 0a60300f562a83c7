"""Goals as FHIR R4 ``Goal`` resources, and their progress as ``Observation``\\ s whose
``focus`` is the Goal (export and read back).

A Goal carries the client's words (``description.text``), the Patient as ``subject`` and
``expressedBy`` (the goal is the client's, in their words; who proposed it is the
``goal-proposed-by`` extension: client, clinician or together), the date agreed
(``startDate``), what 10 would look like as ``target.detailString`` on the project's
``goal-progress`` measure (0–10), ``lifecycleStatus`` and ``achievementStatus`` from the
goal's status and progress, the reason of the last change (``statusReason``), the date of
that change (``statusDate``), its version (``meta.versionId``), its number in the episode
and the goal it replaced (extensions). Built as ``fhir.resources`` R4B models (identical to
R4 for these resources; see :mod:`alliance.interop.fhir`), so each is validated as made.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from fhir.resources.R4B.goal import Goal as FhirGoal
from fhir.resources.R4B.observation import Observation

from alliance.interop.fhir_raters import patient_id, practitioner_id
from alliance.interop.fhir_terms import (
    DEFAULT_BASE_URL,
    code_system,
    extension_url,
    fhir_id,
    identifier_system,
    site_urls,
)
from alliance.records import Goal, GoalProgress

ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
LIFECYCLE = {"active": "active", "achieved": "completed", "no_longer_wanted": "cancelled",
             "changed": "cancelled"}  # fmt: skip
PROGRESS_CODE = "goal-progress"


def goal_id(goal: Goal) -> str:
    return fhir_id(f"goal-{goal.goal}", "goal")


def achievement(goal: Goal) -> str:
    """The goal-achievement code: achieved; not-achieved when closed otherwise; for an
    active goal, improving / worsening / no-change from the client's first and latest
    progress ratings, in-progress with fewer than two."""
    if goal.status == "achieved":
        return "achieved"
    if goal.status != "active":
        return "not-achieved"
    own = [p.value for p in sorted(goal.progress, key=lambda p: p.session) if p.rater == "client"]
    if len(own) < 2:
        return "in-progress"
    return "improving" if own[-1] > own[0] else "worsening" if own[-1] < own[0] else "no-change"


def _ext(name: str, **value: Any) -> dict[str, Any]:
    return {"url": extension_url(name), **value}


def _patient(client: str, base_url: str) -> dict[str, Any]:
    return {
        "reference": f"Patient/{patient_id(client)}",
        "identifier": {"system": identifier_system("client", base_url), "value": client},
    }


def goal_resource(goal: Goal, *, base_url: str = DEFAULT_BASE_URL) -> FhirGoal:
    patient = _patient(goal.client, base_url)
    extensions = [
        _ext("goal-proposed-by", valueCode=goal.proposed_by),
        _ext("episode", valueString=goal.episode),
        _ext("goal-number", valueInteger=goal.number),
        _ext("goal-status", valueCode=goal.status),
    ]
    if goal.replaces:
        extensions.append(_ext("goal-replaces", valueString=goal.replaces))
    data: dict[str, Any] = {
        "resourceType": "Goal",
        "id": goal_id(goal),
        "meta": {"versionId": str(goal.version)},
        "identifier": [{"system": identifier_system("goal", base_url), "value": goal.goal}],
        "extension": extensions,
        "lifecycleStatus": LIFECYCLE[goal.status],
        "achievementStatus": {
            "coding": [{"system": ACHIEVEMENT, "code": achievement(goal)}],
        },
        "description": {"text": goal.description},
        "subject": patient,
        "expressedBy": patient,
        "startDate": goal.agreed_on.isoformat(),
        "target": [
            {
                "measure": {
                    "coding": [
                        {
                            "system": code_system("goal"),
                            "code": PROGRESS_CODE,
                            "display": "Progress towards the goal, 0–10",
                        }
                    ],
                },
                **({"detailString": goal.target} if goal.target else {}),
            }
        ],
    }
    if goal.reason:
        data["statusReason"] = goal.reason
    if goal.changed_on:
        data["statusDate"] = goal.changed_on.isoformat()
    return FhirGoal.model_validate(data)


def progress_observation(
    goal: Goal, progress: GoalProgress, *, base_url: str = DEFAULT_BASE_URL
) -> Observation:
    """One progress rating as an Observation about the Goal (``focus``)."""
    patient = _patient(goal.client, base_url)
    if progress.rater == "client":
        performer = patient
    elif progress.clinician:
        performer = {"reference": f"Practitioner/{practitioner_id(progress.clinician)}"}
    else:
        performer = {"display": "the clinician (not named in the record)"}
    return Observation.model_validate(
        {
            "resourceType": "Observation",
            "id": fhir_id(f"{goal_id(goal)}-{progress.session}-{progress.rater}", "goal-progress"),
            "status": "final",
            "code": {
                "coding": [{"system": code_system("goal"), "code": PROGRESS_CODE}],
                "text": "Goal progress (0–10)",
            },
            "extension": [
                _ext("session", valueInteger=progress.session),
                _ext("goal-rater", valueCode=progress.rater),
            ],
            "subject": patient,
            "focus": [{"reference": f"Goal/{goal_id(goal)}"}],
            "effectiveDateTime": progress.date.isoformat(),
            "performer": [performer],
            "valueInteger": progress.value,
        }
    )


def goal_resources(goals: Iterable[Goal], *, base_url: str = DEFAULT_BASE_URL) -> list[Any]:
    """Each goal's Goal, then its progress Observations (session order)."""
    out: list[Any] = []
    for goal in goals:
        out.append(goal_resource(goal, base_url=base_url))
        out += [
            progress_observation(goal, p, base_url=base_url)
            for p in sorted(goal.progress, key=lambda p: (p.session, p.rater))
        ]
    return out


def _extension(resource: Any, name: str, base_url: str) -> Any:
    for ext in resource.extension or []:
        if ext.url in site_urls("StructureDefinition", name, base_url):
            for field in ("valueCode", "valueString", "valueInteger"):
                value = getattr(ext, field, None)
                if value is not None:
                    return value
    return None


def read_goals(resources: Iterable[Any], *, base_url: str = DEFAULT_BASE_URL) -> list[Goal]:
    """Goals and their progress back from Goal and Observation resources (models or JSON
    dicts), as this module writes them; other resources are ignored."""
    models = [
        r if not isinstance(r, dict) else
        (FhirGoal if r.get("resourceType") == "Goal" else Observation).model_validate(r)
        for r in resources
        if not isinstance(r, dict) or r.get("resourceType") in ("Goal", "Observation")
    ]  # fmt: skip
    progress: dict[str, list[GoalProgress]] = {}
    for o in models:
        if not isinstance(o, Observation) or not o.focus:
            continue
        if not any(c.code == PROGRESS_CODE for c in (o.code.coding or [])):
            continue
        rater = _extension(o, "goal-rater", base_url)
        if o.valueInteger is None or rater not in ("client", "clinician"):
            continue
        performer = o.performer[0].reference if o.performer else None
        clinician = None
        if rater == "clinician" and performer and performer.startswith("Practitioner/"):
            clinician = performer.removeprefix("Practitioner/")
        effective = o.effectiveDateTime
        day = (
            effective
            if isinstance(effective, dt.date)
            else dt.date.fromisoformat(str(effective)[:10])
        )
        progress.setdefault(str(o.focus[0].reference).removeprefix("Goal/"), []).append(
            GoalProgress(session=int(_extension(o, "session", base_url)), date=day,
                         rater=rater, value=int(o.valueInteger), clinician=clinician)
        )  # fmt: skip
    return [_read_goal(g, progress, base_url) for g in models if isinstance(g, FhirGoal)]


def _read_goal(g: FhirGoal, progress: dict[str, list[GoalProgress]], base_url: str) -> Goal:
    system = identifier_system("goal", base_url)
    ours = next((i.value for i in g.identifier or [] if i.system == system), None)
    client = g.subject.identifier.value if g.subject and g.subject.identifier else None
    number = _extension(g, "goal-number", base_url)
    status = _extension(g, "goal-status", base_url)
    description = g.description.text if g.description else None
    if not (ours and client and number and status and description and g.startDate):
        raise ValueError(
            f"Goal/{g.id}: not a goal this service wrote (it needs the goal identifier, the "
            "subject's client identifier, description text, startDate and the goal-number "
            "and goal-status extensions)"
        )
    return Goal(
        client=client,
        episode=str(_extension(g, "episode", base_url)),
        goal=ours,
        number=int(number),
        description=description,
        proposed_by=str(_extension(g, "goal-proposed-by", base_url)),
        agreed_on=g.startDate,
        status=status,
        version=int(g.meta.versionId) if g.meta and g.meta.versionId else 1,
        target=g.target[0].detailString if g.target else None,
        reason=g.statusReason,
        replaces=_extension(g, "goal-replaces", base_url),
        changed_on=g.statusDate,
        progress=tuple(sorted(progress.get(str(g.id), []), key=lambda p: (p.session, p.rater))),
    )
