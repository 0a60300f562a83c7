"""``alliance learn topics | quiz``, driven through stdin or an answers file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alliance.cli import app, learn
from alliance.learning.bank import builtin_bank
from alliance.learning.quiz import Quiz, draw


def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=stdin, env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def letters(quiz: Quiz, *, right: bool = True) -> list[str]:
    """The right (or a wrong) letter for each question, as the CLI will show them."""
    chosen = []
    for drawn in quiz.questions:
        position = drawn.correct_position
        if not right:
            position = (position + 1) % len(drawn.order)
        chosen.append(drawn.letters[position])
    return chosen


def test_topics_lists_every_topic_with_its_count() -> None:
    bank = builtin_bank()
    code, stdout, _ = run("learn", "topics")
    assert code == 0
    for topic in bank.topics:
        count = len(bank.in_topic(topic.id))
        assert re.search(rf"\n {topic.id} +{count} +{re.escape(topic.title)}", stdout), topic.id
    assert f"{len(bank)} questions in bank version {bank.version}." in stdout


def test_a_quiz_taken_to_the_end_through_stdin() -> None:
    quiz = draw(builtin_bank(), 8, seed=123)
    answers = letters(quiz)
    answers[2] = letters(quiz, right=False)[2]
    code, stdout, _ = run("learn", "quiz", "--seed", "123", stdin="\n".join(answers) + "\n")
    assert code == 0
    assert f"8 questions from bank {builtin_bank().version} (seed 123" in stdout
    for number, drawn in enumerate(quiz.questions, start=1):
        assert f"Question {number} of 8" in stdout
        assert drawn.question.stem in " ".join(stdout.split())
    assert stdout.count("✓ Right.") == 7
    assert stdout.count("✗ Not quite.") == 1
    third = quiz.questions[2]
    right = third.letters[third.correct_position]
    assert f"The answer is {right}: " in stdout
    assert " ".join(third.question.explanation.split()) in " ".join(stdout.split())
    assert stdout.count("Source: ") == 8
    assert "7 of 8 right, bank 1.1." in stdout
    assert "stopped" not in stdout


def test_answers_file_with_invalid_lines_is_re_asked(tmp_path: Path) -> None:
    quiz = draw(builtin_bank(), 3, seed=9, topics=["ruptures"])
    right = letters(quiz)
    lines = ["maybe", "", right[0].lower(), "F", right[1], right[2]]
    path = tmp_path / "answers.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, stdout, _ = run(
        "learn", "quiz", "-n", "3", "--seed", "9", "--topic", "ruptures", "--answers", str(path)
    )
    assert code == 0
    assert "'maybe' is not an answer. Please type one letter, A, B, C, D, or q to stop." in stdout
    assert "No answer given." in stdout
    assert "'F' is not an answer." in stdout
    assert stdout.count("Your answer (A–D, or q to stop): ") == 6
    assert "3 of 3 right, bank 1.1." in stdout
    assert "Rupture markers and repair" in stdout


def test_end_of_input_stops_gracefully_with_a_summary() -> None:
    quiz = draw(builtin_bank(), 8, seed=5)
    code, stdout, stderr = run("learn", "quiz", "--seed", "5", stdin=letters(quiz)[0] + "\n")
    assert code == 0
    assert stderr == ""
    assert "Question 2 of 8" in stdout
    assert "Question 3 of 8" not in stdout
    assert "1 of 1 right (stopped after 1 of 8), bank 1.1." in stdout


def test_q_stops_and_nothing_answered_is_said_plainly() -> None:
    code, stdout, _ = run("learn", "quiz", "--seed", "5", stdin="q\n")
    assert code == 0
    assert "Question 2 of 8" not in stdout
    assert "No questions answered; nothing to score." in stdout


def test_derived_answers_are_labelled() -> None:
    bank = builtin_bank()
    derived = [q for q in bank.in_topic("suicide-risk") if q.basis == "derived"]
    count = len(bank.in_topic("suicide-risk"))
    quiz = draw(bank, count, seed=1, topics=["suicide-risk"])
    code, stdout, _ = run(
        "learn",
        "quiz",
        "-n",
        str(count),
        "--seed",
        "1",
        "--topic",
        "suicide-risk",
        stdin="\n".join(letters(quiz)) + "\n",
    )
    assert code == 0
    assert derived
    note = "This answer is the project's reading of the evidence, not a published finding."
    assert stdout.count(note) == len(derived)


def test_unknown_topic_and_too_many_questions() -> None:
    code, _, stderr = run("learn", "quiz", "--topic", "rupture")
    assert code == 1
    assert "topics: unknown 'rupture'; allowed: bordin," in stderr
    code, _, stderr = run("learn", "quiz", "-n", "500")
    assert code == 1
    assert f"allowed 1–{len(builtin_bank())}" in stderr
    code, _, stderr = run("learn", "quiz", "-n", "0")
    assert code == 2


def test_ctrl_c_prints_the_summary_and_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    quiz = draw(builtin_bank(), 4, seed=8)
    calls = iter([quiz.questions[0].correct_position])

    def ask(self: object, drawn: object) -> int:
        try:
            return next(calls)
        except StopIteration:
            raise KeyboardInterrupt from None

    monkeypatch.setattr(learn._Answers, "ask", ask)
    code, stdout, _ = run("learn", "quiz", "-n", "4", "--seed", "8")
    assert code == 130
    assert "1 of 1 right (stopped after 1 of 4), bank 1.1." in stdout


def test_the_readme_example_is_real_output() -> None:
    """The README's quiz transcript is what the command prints for the answers it shows."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("$ alliance learn quiz ")
    block = readme[start : readme.index("```", start)].rstrip("\n").splitlines()
    args = block[0].removeprefix("$ alliance ").split()
    typed = [line.rsplit(": ", 1)[1] for line in block if line.startswith("Your answer (")]
    result = CliRunner().invoke(app, args, input="\n".join(typed) + "\n", env={"COLUMNS": "92"})
    assert result.exit_code == 0
    printed = [line.rstrip() for line in result.stdout.rstrip("\n").splitlines()]
    assert printed == block[1:]
