"""Recall and precision of the goal rules against the simulator's goal truth (issue 17).

``python bench/goals.py`` simulates three clinics the defaults were not tuned on (seeds 23,
31, 47 × 300 clients × 10 sessions; tuning used seed 11) and prints, per rule, the share of
goals that truly stalled (``goal_stall``) or that the clinician truly saw differently
(``goal_disagreement``, an offset of 3–5 points) on which the rule fired at any session
(recall), and the share of goals it fired on that were truly so (precision). The goal model
is in :mod:`alliance.simulate_goals`.
"""

from __future__ import annotations

from alliance.analytics.goal_signals import GoalDisagreement, GoalStall
from alliance.simulate import simulate_clinic
from alliance.simulate_goals import recovery


def main() -> None:
    for seed in (23, 31, 47):
        clinic = simulate_clinic(seed=seed, n_clients=300)
        data = clinic.tidy(goals=True)
        for detector, truth in ((GoalStall(), "stalled"), (GoalDisagreement(), "disagreement")):
            r = recovery(clinic.goals, detector.detect(data), detector.rule, truth)
            print(
                f"seed {seed}  {detector.rule:<18} recall {r['recall']:.2f} "
                f"({r['hits']}/{r['true']})  precision {r['precision']:.2f} "
                f"({r['hits']}/{r['flagged']})"
            )


if __name__ == "__main__":
    main()
