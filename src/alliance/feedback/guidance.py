"""Next steps offered with each alert: two or three concrete actions, written by the project.

Every step names the sources that ground it (keys of :data:`SOURCES`). The steps are the
project's own wording, informed by — not quoted from — the rupture-repair and feedback
literature; they are suggestions for a clinician's judgement, not instructions.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCES = {
    "bordin1979": (
        "Bordin, E. S. (1979). The generalizability of the psychoanalytic concept of the "
        "working alliance. Psychotherapy: Theory, Research & Practice, 16(3), 252–260 "
        "(alliance as agreement on goals and tasks plus a bond)."
    ),
    "eubanks2018": (
        "Eubanks, C. F., Muran, J. C., & Safran, J. D. (2018). Alliance rupture repair: A "
        "meta-analysis. Psychotherapy, 55(4), 508–519 (repaired versus unrepaired ruptures "
        "and outcome, r = .29)."
    ),
    "eubanks3rs": (
        "Eubanks, Muran & Safran, Rupture Resolution Rating System (3RS) manual, 2015 "
        "(ruptures as lapses in collaboration on tasks or goals or strains in the bond; "
        "withdrawal and confrontation markers)."
    ),
    "chen2018": (
        "Chen et al. (2018), Psychotherapy Research, 28, 560–570 (when therapists recognised "
        "a rupture, the next session's alliance rose)."
    ),
    "muran2009": (
        "Muran et al. (2009), Psychotherapy, 46, 233–248 (post-session rupture ratings by "
        "both parties; resolution predicted retention)."
    ),
    "flueckiger2018": (
        "Flückiger, Del Re, Wampold & Horvath (2018), Psychotherapy, 55, 316–340 (alliance "
        "and outcome, r = .28 over 295 studies)."
    ),
    "sharf2010": (
        "Sharf, Primavera & Diener (2010), Psychotherapy, 47(4) (alliance and dropout, d = .55)."
    ),
    "meier2005": (
        "Meier, Barrowclough & Donmall (2005), Addiction (early alliance predicts engagement "
        "and retention in drug treatment)."
    ),
    "whipple2003": (
        "Whipple et al. (2003), Journal of Counseling Psychology, 50, 59–68 (feedback with "
        "clinical support tools for clients at risk of a poor outcome)."
    ),
    "asc2015": (
        "Psychotherapy Research (2015), 25, 724–734 (clients not on track grouped by "
        "alliance and motivation problems versus social-support and life-event problems)."
    ),
    "rom2023": (
        "Barkham, De Jong, Delgadillo & Lutz (2023), Routine Outcome Monitoring (ROM) and "
        "feedback: research review and recommendations, Psychotherapy Research, 33(7), "
        "841–855 (feedback for not-on-track clients with clinical support tools, "
        "g ≈ .36–.53)."
    ),
    "finch2001": (
        "Finch, Lambert & Schaalje (2001), Clinical Psychology & Psychotherapy (expected "
        "recovery curves and early warning)."
    ),
    "tryon2007": (
        "Tryon, Blackwell & Hammel (2007), A meta-analytic examination of client–therapist "
        "perspectives of the working alliance (53 studies: client and therapist alliance "
        "ratings agree only moderately, r = .36; clients rate higher, d = .63)."
    ),
    "blanchard_farber": (
        "Blanchard & Farber (2016), Counselling Psychology Quarterly, 29(1), 90–112 (93% of "
        "547 clients had lied to their therapist, 72.6% about therapy itself)."
    ),
    "simon2013": (
        "Simon et al. (2013), Psychiatric Services, doi:10.1176/appi.ps.201200587 (answers "
        "to PHQ-9 item 9 predict suicide attempts and deaths)."
    ),
    "stanley_brown2012": (
        "Stanley, B., & Brown, G. K. (2012). Safety Planning Intervention: A brief "
        "intervention to mitigate suicide risk. Cognitive and Behavioral Practice, 19, "
        "256–264 (a written, prioritised list: warning signs, own coping strategies, people "
        "and places that distract, people who can help, professionals and crisis services, "
        "making the surroundings safer)."
    ),
    "project_protocol": (
        "The project's own protocol (derived, not a published rule): same-day follow-up of "
        "any risk answer or unanswered risk question, repeated attempts, escalation to a "
        "supervisor or duty clinician, and emergency services when danger is immediate. A "
        "clinic's own risk policy comes first."
    ),
    "lawjacob2015": (
        "Law, D., & Jacob, J. (2015). Goals and Goal Based Outcomes (GBOs): Some Useful "
        "Information (3rd ed.). CAMHS Press (up to three goals agreed collaboratively, in the "
        "client's words, progress rated 0–10; stuck goals and goals that change are "
        "discussed and renegotiated)."
    ),
    "dunsterpage2017": (
        "Dunster-Page et al. (2017), Journal of Affective Disorders, 223, 165–174 (alliance "
        "and suicidality)."
    ),
}


@dataclass(frozen=True)
class NextStep:
    """One suggested action and the sources (keys of :data:`SOURCES`) that ground it."""

    text: str
    sources: tuple[str, ...]


_RUPTURE = (
    NextStep(
        "Early in the next session, say that you noticed the lower rating and ask what did "
        "not work for the client last time; listen and take it seriously rather than "
        "explaining or defending.",
        ("chen2018", "eubanks2018"),
    ),
    NextStep(
        "Check that you still agree on the goals and on the way you work together, and "
        "adjust the plan with the client where it no longer fits.",
        ("bordin1979", "eubanks3rs"),
    ),
    NextStep(
        "Watch for quieter signs of strain as well as open complaints — short answers, "
        "changing the subject, going along without engaging — and name them gently.",
        ("eubanks3rs",),
    ),
)

GUIDANCE: dict[str, tuple[NextStep, ...]] = {
    "below_cutoff": _RUPTURE,
    "drop_from_previous": _RUPTURE,
    "drop_from_baseline": _RUPTURE,
    "reliable_drop": _RUPTURE,
    "reported_rupture": (
        NextStep(
            "Return to the moment of strain early in the next session: describe what you "
            "noticed and ask how it was for the client.",
            ("chen2018", "muran2009"),
        ),
        _RUPTURE[1],
        NextStep(
            "Afterwards, compare the client's own rating with what you noticed; clients "
            "report fewer ruptures than their therapists do.",
            ("muran2009",),
        ),
    ),
    "repair": (
        NextStep(
            "Name with the client what helped the work recover, so that you can both use it again.",
            ("eubanks2018",),
        ),
        NextStep(
            "Keep inviting feedback at the end of sessions; repaired ruptures go with better "
            "outcomes and resolution with staying in treatment.",
            ("eubanks2018", "muran2009"),
        ),
    ),
    "low_early_alliance": (
        NextStep(
            "Use the next session to agree explicitly on what the client wants from the work "
            "and how you will work on it together.",
            ("bordin1979", "flueckiger2018"),
        ),
        NextStep(
            "Ask what would make the sessions more useful for the client, and act on it; "
            "many clients do not say so unasked.",
            ("blanchard_farber",),
        ),
        NextStep(
            "If a session is missed, reach out promptly: a weak early alliance predicts "
            "dropping out.",
            ("sharf2010", "meier2005"),
        ),
    ),
    "off_track": (
        NextStep(
            "Review progress and the treatment plan with the client: what helps, what does "
            "not, and what to change.",
            ("whipple2003", "finch2001"),
        ),
        NextStep(
            "Go through the common reasons for slow progress: the alliance, motivation, "
            "support from others and recent life events.",
            ("asc2015", "whipple2003"),
        ),
        NextStep(
            "Bring the case to supervision or consultation.",
            ("rom2023",),
        ),
    ),
    "outcome_deterioration": (
        NextStep(
            "Ask the client what has changed, including any thoughts of self-harm, and follow "
            "the clinic's risk protocol if needed.",
            ("whipple2003", "simon2013"),
        ),
        NextStep(
            "Review the treatment plan with the client and agree on a change.",
            ("whipple2003",),
        ),
        NextStep(
            "Bring the case to supervision or consultation.",
            ("rom2023",),
        ),
    ),
    "low_goal_agreement": (
        NextStep(
            "Ask the client whether the goals you are working on are still the ones they "
            "want, in their own words, and agree them again where they are not.",
            ("bordin1979", "lawjacob2015"),
        ),
        NextStep(
            "Check how the way you work connects to each goal for the client; a weak sense "
            "of shared goals often shows before the whole alliance falls.",
            ("bordin1979", "eubanks3rs"),
        ),
    ),
    "goal_disagreement": (
        NextStep(
            "Show the client both ratings of the goal and ask what progress looks like to "
            "them; agree what 10 would look like if you picture it differently.",
            ("lawjacob2015", "tryon2007"),
        ),
        NextStep(
            "Treat the gap as a question about the goal, not about who is right: revise the "
            "goal's words or target together if they no longer fit.",
            ("lawjacob2015", "bordin1979"),
        ),
    ),
    "goal_stall": (
        NextStep(
            "Review the stuck goal with the client: is it still wanted, is it too big, and "
            "what small step would move it? Renegotiate or replace it if needed.",
            ("lawjacob2015",),
        ),
        NextStep(
            "A good alliance rating can hide a goal that is not moving: ask openly whether "
            "the sessions are helping with it, and adjust the way you work.",
            ("blanchard_farber", "whipple2003"),
        ),
    ),
    "discrepancy": (
        NextStep(
            "Ask the client directly how the work is going for them, and compare it with "
            "your own view.",
            ("tryon2007",),
        ),
        NextStep(
            "Treat the difference as a question to explore, not an error: clients and "
            "clinicians often see the alliance differently.",
            ("tryon2007", "blanchard_farber"),
        ),
    ),
    "calibration_gap": (
        NextStep(
            "The client rated the session lower than you expected: invite their feedback "
            "next time and listen for what you may have missed.",
            ("chen2018", "blanchard_farber"),
        ),
        NextStep(
            "Keep predicting the client's rating each session and compare it with theirs, to "
            "see whether the gap narrows.",
            ("tryon2007",),
        ),
    ),
    "risk_item": (
        NextStep(
            "Today — before the client leaves if they are still here — contact the client and "
            "assess risk following the clinic's risk protocol, however good the alliance "
            "rating (it does not replace a risk assessment); record the follow-up here.",
            ("simon2013", "dunsterpage2017", "project_protocol"),
        ),
        NextStep(
            "Make or review a safety plan with the client: warning signs, their own coping "
            "strategies, people and places that distract, people who can help, professionals "
            "and crisis lines to call, and making the surroundings safer.",
            ("stanley_brown2012",),
        ),
        NextStep(
            "If you cannot reach the client: try again and leave a message asking them to call "
            "back (no clinical details); try their other contact details and any contact "
            "person they agreed to; tell your supervisor or the duty clinician; if you believe "
            "they are in immediate danger, call emergency services; record each attempt.",
            ("project_protocol",),
        ),
    ),
    "risk_unanswered": (
        NextStep(
            "Ask about the unanswered question the same day — before the client leaves, or by "
            "phone today for a form filled from a link — kindly and directly: an empty answer "
            "is not a no.",
            ("simon2013", "blanchard_farber", "project_protocol"),
        ),
        NextStep(
            "If the answer shows risk, follow the clinic's risk protocol at once and make or "
            "review a safety plan with the client.",
            ("simon2013", "stanley_brown2012"),
        ),
        NextStep(
            "If you cannot reach the client today, tell your supervisor or the duty clinician "
            "and keep trying; record each attempt in the follow-up.",
            ("project_protocol",),
        ),
    ),
}
