"""Goal progress as the analytics read it: a pseudo-instrument for idiographic goals.

Goal-based outcomes (GBO; Law & Jacob 2015) have no fixed items: each client agrees up to
three goals in their own words and rates progress towards each from 0 (no progress) to 10
(the goal reached). In a tidy score table a goal's progress is a row with ``instrument =
goals`` and ``scale = goal_<n>`` (the goal's place in its episode), ``perspective`` the client
or the clinician. :func:`~alliance.analytics.series.order_series` gives every such scale the
one ``progress`` scale defined here (0–10, higher is better); the definition is not in the
instrument registry, so no form, export or FHIR Questionnaire offers it.

The GBO reliable-change value used in some services (2.45 points, for parent-reported goals in
CORC data, Edbrooke-Childs et al. 2015) could not be confirmed from the source here: it is
carried ``verified: false`` and, like every unconfirmed value, never applied.
"""

from __future__ import annotations

from functools import cache

from alliance.instruments.model import Instrument, Scale

GOAL_INSTRUMENT = "goals"
GOAL_SCALE_PREFIX = "goal_"
PROGRESS = "progress"


def goal_scale(number: int) -> str:
    """The tidy table's scale of an episode's ``number``-th goal: ``goal_1`` …"""
    return f"{GOAL_SCALE_PREFIX}{number}"


def is_goal_scale(instrument: str, scale: str) -> bool:
    return instrument == GOAL_INSTRUMENT and scale.startswith(GOAL_SCALE_PREFIX)


@cache
def goal_progress_definition() -> Instrument:
    """The pseudo-instrument of goal progress (the project's labels; no licensed wording:
    the items are the client's own words)."""
    return Instrument.model_validate(
        {
            "id": GOAL_INSTRUMENT,
            "version": "1.0",
            "title": "Goal progress (goal-based outcomes, 0–10 per goal)",
            "kind": "outcome",
            "citation": (
                "Law, D., & Jacob, J. (2015). Goals and Goal Based Outcomes (GBOs): Some "
                "Useful Information (3rd ed.). London: CAMHS Press."
            ),
            "perspectives": ["client", "clinician"],
            "sources": {
                "law-jacob-2015": (
                    "Law & Jacob (2015), CAMHS Press: goals agreed collaboratively in the "
                    "client's words, up to three, progress rated 0–10 (CORC guidance notes)."
                ),
                "edbrooke-childs-2015": (
                    "Edbrooke-Childs et al. (2015), reliable change of about 2.45 points for "
                    "parent-reported GBOs in CORC data — cited second-hand, not confirmed."
                ),
            },
            "licence": {
                "status": "unknown",
                "terms": "Goals are the client's own words; the project ships no wording.",
                "source": "law-jacob-2015",
                "verified": False,
                "note": "The terms of use of GBO materials were not checked.",
            },
            "response": {
                "kind": "options",
                "source": "law-jacob-2015",
                "options": [{"value": v, "label": str(v)} for v in range(11)],
            },
            "items": [
                {"id": "item_1", "label": "Progress towards this goal", "scales": [PROGRESS]}
            ],
            "scales": [
                {
                    "id": PROGRESS,
                    "label": "Goal progress",
                    "source": "law-jacob-2015",
                    "operation": {"name": "sum", "source": "law-jacob-2015"},
                    "range": [0, 10],
                    "higher_is": "better",
                    "reliable_change": {
                        "value": 2.45,
                        "source": "edbrooke-childs-2015",
                        "verified": False,
                        "note": (
                            "Known from secondary accounts only (parent-reported GBOs, CORC "
                            "data); the primary source was not read."
                        ),
                    },
                }
            ],
        }
    )


def goal_progress_scale() -> Scale:
    return goal_progress_definition().scale(PROGRESS)
