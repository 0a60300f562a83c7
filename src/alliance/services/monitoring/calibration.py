"""A clinician's calibration — how close their predictions of the client's alliance rating
came — for the clinician, and for their supervisor where the organization allows it.

Who sees what: a clinician (or a supervisor, for their own clients) sees their own
calibration; a supervisor sees a member of their team's only when the organization's admin
has turned ``supervisors_see_calibration`` on (off by default); nobody else sees it. One
clinician is shown at a time: there is no list or ranking of clinicians by their figures.

The figures come from :func:`alliance.analytics.calibration.calibration` over the episodes the
clinician leads, with the organization's own thresholds: the calibration rule's
``min_difference`` for "clearly lower", its enabled rupture rules that detect a fall for
drops, and the organization's typical spreads (as for its alerts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from alliance.analytics.agreement import CalibrationGap
from alliance.analytics.calibration import Calibration, calibration
from alliance.analytics.detector import Detector
from alliance.analytics.ruptures import DropFromBaseline, ReliableDrop
from alliance.analytics.series import order_series
from alliance.instruments.registry import Registry
from alliance.services import audit
from alliance.services.accounts.access import CLINICAL_ROLES, require_role
from alliance.services.context import Actor
from alliance.services.errors import Forbidden, NotFound
from alliance.services.monitoring.analysis import config_of, reference, scores_frame
from alliance.store.models import Client, Organization, User

PREDICTED = ("wai-sr", "total")  # the client's alliance form clinicians predict
DROP_RULES = ("drop_from_previous", "drop_from_baseline", "reliable_drop")


@dataclass(frozen=True)
class CalibrationView:
    """``calibration`` is None when the clinician's clients have no WAI-SR ratings yet;
    ``client_ids`` maps the client codes in it to client ids (for links)."""

    clinician: User
    own: bool
    calibration: Calibration | None
    client_ids: dict[str, str]
    drop_rules: tuple[str, ...]


def _organization(db: Session, actor: Actor) -> Organization:
    org = db.get(Organization, actor.organization_id) if actor.organization_id else None
    if org is None:
        raise NotFound("no organization")
    return org


def _target(db: Session, actor: Actor, org: Organization, user_id: str | None) -> User:
    """The clinician whose calibration ``actor`` asks for, if they may see it."""
    if user_id is None or user_id == actor.user_id:
        if actor.is_system:
            raise NotFound("no user given", field="user_id")
        user = db.get(User, actor.user_id) if actor.user_id else None
        if user is None:
            raise NotFound("no such user")
        return user
    if not actor.is_system:
        if actor.role != "supervisor":
            raise NotFound(f"no calibration for user {user_id}")
        if not org.supervisors_see_calibration:
            raise Forbidden(
                "your organization keeps each clinician's calibration private to them; an "
                "admin can let supervisors see their team's"
            )
    wanted = select(User).where(
        User.id == user_id,
        User.organization_id == org.id,
        User.role.in_(CLINICAL_ROLES),
    )
    if not actor.is_system:
        wanted = wanted.where(User.team_id.is_not(None), User.team_id == actor.team_id)
    user = db.scalar(wanted)
    if user is None:
        raise NotFound(f"no calibration for user {user_id}")
    return user


def calibration_for(
    db: Session, actor: Actor, registry: Registry, *, user_id: str | None = None
) -> CalibrationView:
    """The calibration of ``user_id`` (default: the actor's own)."""
    require_role(actor, *CLINICAL_ROLES)
    org = _organization(db, actor)
    user = _target(db, actor, org, user_id)
    frame = scores_frame(db, registry, organization_id=org.id, clinician_id=user.id)
    config = config_of(org)
    gap = CalibrationGap(**config.params.get(CalibrationGap.rule, {}))
    instrument, scale = PREDICTED
    drops: list[Detector] = [
        d
        for d in config.detectors()
        if d.rule in DROP_RULES and getattr(d, "instrument", None) in (None, instrument)
    ]
    if not drops:
        drops = [DropFromBaseline(), ReliableDrop()]
    result = None
    has_ratings = (
        not frame.empty and ((frame["instrument"] == instrument) & (frame["scale"] == scale)).any()
    )
    if has_ratings:
        ordered = order_series(frame, registry=registry)
        ordered.use_reference_spreads(reference(db, registry, org.id).spreads)
        result = calibration(ordered, instrument=instrument, scale=scale, gap=gap, drop_rules=drops)
    codes = set(result.pairs["client"]) | set(result.drops["client"]) if result else set()
    client_ids = {
        code: client_id
        for client_id, code in db.execute(
            select(Client.id, Client.code).where(
                Client.organization_id == org.id, Client.code.in_(sorted(map(str, codes)))
            )
        ).all()
    }
    audit.record(
        db,
        actor,
        "read",
        "calibration",
        user.id,
        sessions=result.n if result else 0,
        clients=len(client_ids),
    )
    return CalibrationView(
        clinician=user,
        own=user.id == actor.user_id,
        calibration=result,
        client_ids=client_ids,
        # rules that could not judge this scale (e.g. no confirmed reliable-change value)
        drop_rules=tuple(
            d.rule for d in drops if f"{instrument} {scale}" not in getattr(d, "skipped_", {})
        ),
    )


def team_members(db: Session, actor: Actor) -> list[User]:
    """The other clinicians of a supervisor's team, by name, when the organization lets
    supervisors see their calibration; otherwise none."""
    if actor.role != "supervisor" or not actor.team_id:
        return []
    if not _organization(db, actor).supervisors_see_calibration:
        return []
    return list(
        db.scalars(
            select(User)
            .where(
                User.organization_id == actor.organization_id,
                User.team_id == actor.team_id,
                User.role.in_(CLINICAL_ROLES),
                User.active,
                User.id != actor.user_id,
            )
            .order_by(User.display_name, User.username)
        )
    )


def set_supervisors_see_calibration(db: Session, actor: Actor, value: bool) -> Organization:
    """Let supervisors see their team members' calibration, or stop it (admins)."""
    require_role(actor, "admin")
    org = _organization(db, actor)
    org.supervisors_see_calibration = bool(value)
    audit.record(
        db, actor, "update", "organization", org.id, changed=["supervisors_see_calibration"]
    )
    return org


RULE_WORDS = {
    "drop_from_previous": "a drop from the previous rating",
    "drop_from_baseline": "a drop from the client's own baseline",
    "reliable_drop": "a reliable drop",
}


def definitions(view: CalibrationView) -> dict[str, str]:
    """How each figure is defined, with the thresholds in use (for pages, API and CLI)."""
    c = view.calibration
    your, you = ("your", "you") if view.own else ("the clinician's", "the clinician")
    threshold = f"{c.threshold:g} points ({c.min_difference:g} × the scale's range)" if c else ""
    fall = f"{c.prediction_fall:g} points" if c else ""
    rules = " or ".join(RULE_WORDS.get(r, r) for r in view.drop_rules)
    return {
        "error": f"{your} prediction minus the client's own WAI-SR total for the same session; "
        f"above 0 the client rated the alliance lower than {you} expected",
        "interval": "95% interval of the mean, clustered by client: the sessions of one client "
        "are not independent, so the interval reflects how many clients there were",
        "clearly_lower": f"the client rated at least {threshold} below {your} prediction: the "
        "calibration rule's threshold, set by the project (no published threshold exists)",
        "drop": f"a session in which the organization's rupture rules found {rules} in the "
        "client's own rating",
        "noticed": f"in that same session {you} reported a rupture, or {your} prediction fell "
        f"by at least {fall} from the previous prediction for that client (the project's "
        "definition)",
    }


def _number(value: object) -> float | None:
    """A float, or None for a missing value or NaN."""
    if value is None or not isinstance(value, int | float | np.number):
        return None
    x = float(value)
    return None if math.isnan(x) else x


def as_record(view: CalibrationView) -> dict[str, object]:
    """The view as plain JSON-ready data (the API's body; the command line prints it)."""
    c = view.calibration
    head: dict[str, object] = {
        "user_id": view.clinician.id,
        "display_name": view.clinician.display_name,
        "instrument": PREDICTED[0],
        "scale": PREDICTED[1],
        "definitions": definitions(view),
    }
    if c is None:
        return {**head, "sessions": 0}
    ids = view.client_ids
    drops = c.drops
    return {
        **head,
        "scale_range": list(c.scale_range),
        "level": c.level,
        "sessions": c.n,
        "clients": c.error.clusters,
        "mean_error": vars(c.error),
        "mean_abs_error": vars(c.abs_error),
        "direction": c.direction,
        "correlation": _number(c.correlation),
        "clearly_lower": {
            "sessions": c.clearly_lower,
            "share": c.share_clearly_lower,
            "threshold": c.threshold,
            "min_difference": c.min_difference,
        },
        "clearly_higher": c.clearly_higher,
        "by_month": [
            {
                "period": str(row["period"]),
                "n": int(row["n"]),
                "clients": int(row["clients"]),
                **{
                    k: _number(row[k])
                    for k in ("bias", "low", "high", "mean_abs_error", "correlation")
                },
            }
            for row in c.by_period.to_dict("records")
        ],
        "largest_gaps": [
            {
                "client_id": ids.get(str(r["client"])),
                "client": str(r["client"]),
                "session": int(r["session"]),
                "date": None if r["date"] is None else str(r["date"]),
                "prediction": float(r["prediction"]),
                "rating": float(r["rating"]),
                "error": float(r["error"]),
                "clearly_lower": bool(r["clearly_lower"]),
            }
            for r in c.largest.to_dict("records")
        ],
        "drops": {
            "rules": list(view.drop_rules),
            "prediction_fall": c.prediction_fall,
            "count": len(drops),
            "noticed": c.drops_noticed,
            "reported": int(drops["reported"].sum()) if len(drops) else 0,
            "prediction_fell": int(drops["prediction_fell"].sum()) if len(drops) else 0,
            "sessions": [
                {
                    "client_id": ids.get(str(r["client"])),
                    "client": str(r["client"]),
                    "session": int(r["session"]),
                    "date": None if r["date"] is None else str(r["date"]),
                    "rating": float(r["rating"]),
                    "rules": str(r["rules"]).split(", "),
                    "reported": bool(r["reported"]),
                    "prediction": _number(r["prediction"]),
                    "previous_prediction": _number(r["previous_prediction"]),
                    "prediction_fell": bool(r["prediction_fell"]),
                    "noticed": bool(r["noticed"]),
                }
                for r in drops.to_dict("records")
            ],
        },
    }
