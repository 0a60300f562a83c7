"""``alliance learn``: the self-check on establishing the alliance in a terminal, and a
clinician's calibration from the database.

``alliance learn quiz --user NAME`` keeps the result in the database, privately for that
clinician (they see it on their Learning page); without ``--user`` nothing is saved."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from alliance.cli.calibration import calibration_command
from alliance.cli.clinic import DatabaseOption, _session
from alliance.cli.common import fail, out
from alliance.learning.bank import Bank, BankError, builtin_bank
from alliance.learning.quiz import (
    DEFAULT_QUESTIONS,
    DrawnQuestion,
    Quiz,
    QuizResult,
    draw,
    grade,
)
from alliance.services.context import Actor
from alliance.services.errors import ServiceError
from alliance.services.monitoring import learning

app = typer.Typer(
    add_completion=False,
    help="Clinician learning: a self-check on establishing the alliance.",
    no_args_is_help=True,
)

DERIVED_NOTE = "This answer is the project's reading of the evidence, not a published finding."

app.command("calibration")(calibration_command)


def _bank() -> Bank:
    try:
        return builtin_bank()
    except BankError as exc:
        fail(str(exc))


@app.command("topics")
def topics_command() -> None:
    """List the self-check's topics and how many questions each has."""
    bank = _bank()
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("topic")
    table.add_column("questions", justify="right")
    table.add_column("about")
    for topic in bank.topics:
        table.add_row(topic.id, str(len(bank.in_topic(topic.id))), escape(topic.title))
    out.print(table)
    out.print(f"{len(bank)} questions in bank version {bank.version}.")


class _Answers:
    """Answer lines from the keyboard, a pipe or a file; echoes what it reads unless typed."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.echo = not stream.isatty()

    def ask(self, drawn: DrawnQuestion) -> int | None:
        """The shown position chosen, or None when the person stops (q, end of input)."""
        letters = drawn.letters
        while True:
            out.print(f"Your answer ({letters[0]}–{letters[-1]}, or q to stop): ", end="")
            line = self.stream.readline()
            if line == "":
                out.print()
                return None
            text = line.strip()
            if self.echo:
                out.print(escape(text), highlight=False)
            if text.lower() in ("q", "quit"):
                return None
            try:
                return drawn.position(text)
            except ValueError:
                shown = f"{escape(repr(text))} is not an answer" if text else "No answer given"
                out.print(
                    f"[yellow]{shown}.[/] Please type one letter, "
                    f"{', '.join(letters)}, or q to stop."
                )


@app.command("quiz")
def quiz_command(
    questions: Annotated[
        int,
        typer.Option("--questions", "-n", min=1, help="How many questions to ask."),
    ] = DEFAULT_QUESTIONS,
    seed: Annotated[
        int | None,
        typer.Option(help="Draw the same questions again (the seed is shown at the start)."),
    ] = None,
    topic: Annotated[
        list[str] | None,
        typer.Option(
            "--topic", help="Only this topic; repeat for more (see `alliance learn topics`)."
        ),
    ] = None,
    answers: Annotated[
        Path | None,
        typer.Option(
            "--answers",
            help="Read the answers from this file, one letter a line, instead of the keyboard.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            help="Keep the result in the database, privately for this clinician (username).",
        ),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Take a short self-check: one question at a time, with the explanation and source."""
    bank = _bank()
    try:
        quiz = draw(bank, questions, seed=seed, topics=topic)
    except ValueError as exc:
        fail(str(exc))
    if user is not None:
        _check_learner(user, database)  # before the questions, not after them
    total = len(quiz.questions)
    out.print(
        f"[bold]{escape(bank.title)}[/]\n{total} question{'s' * (total != 1)} from bank "
        f"{bank.version} (seed {quiz.seed}; --seed {quiz.seed} asks the same ones again). "
        "Answer with a letter; q stops."
    )
    stream: TextIO = answers.open(encoding="utf-8") if answers else sys.stdin
    try:
        choices, interrupted = _ask_all(quiz, bank, _Answers(stream))
    finally:
        if answers:
            stream.close()
    result = grade(quiz, choices)
    _summary(result, bank)
    if interrupted:
        out.print("Nothing was saved.")
        raise typer.Exit(130)
    if user is None or result.answered == 0:
        out.print("Nothing was saved.")
        return
    _save(user, database, quiz, choices, bank)


def _check_learner(user: str, database: str | None) -> None:
    with _session(database) as db:
        try:
            learning.learner_named(db, user)
        except ServiceError as exc:
            fail(exc.message)


def _save(
    user: str, database: str | None, quiz: Quiz, choices: list[int | None], bank: Bank
) -> None:
    with _session(database) as db:
        try:
            person = learning.learner_named(db, user)
            learning.record_result(
                db,
                Actor.system(person.organization_id),
                bank,
                bank_version=quiz.bank_version,
                seed=quiz.seed,
                questions=len(quiz.questions),
                topics=quiz.topics,
                positions=[
                    None if c is None else d.order.index(c)
                    for d, c in zip(quiz.questions, choices, strict=True)
                ],
                source="cli",
                user_id=person.id,
            )
            db.commit()
        except ServiceError as exc:
            fail(f"the result was not saved: {exc.message}")
        out.print(
            f"Saved privately for {escape(person.username)}: only they can read it, on their "
            "Learning page."
        )


def _ask_all(quiz: Quiz, bank: Bank, reader: _Answers) -> tuple[list[int | None], bool]:
    """Ask each question in turn; return the choices (bank indices) and whether Ctrl-C hit."""
    total = len(quiz.questions)
    choices: list[int | None] = [None] * total
    try:
        for number, drawn in enumerate(quiz.questions):
            _show(drawn, number + 1, total, bank)
            position = reader.ask(drawn)
            if position is None:
                break
            choices[number] = drawn.choice(position)
            _feedback(drawn, position)
    except KeyboardInterrupt:
        out.print()
        return choices, True
    return choices, False


def _show(drawn: DrawnQuestion, number: int, total: int, bank: Bank) -> None:
    topic = bank.topic(drawn.question.topic).title
    out.print(f"\n[bold]Question {number} of {total}[/] [dim]· {escape(topic)}[/]")
    out.print(escape(drawn.question.stem))
    options = Table.grid(padding=(0, 1))
    options.add_column(justify="right", min_width=4)
    options.add_column()
    for letter, option in zip(drawn.letters, drawn.options, strict=True):
        options.add_row(f"{letter}.", escape(option.text))
    out.print(options)


def _feedback(drawn: DrawnQuestion, position: int) -> None:
    question = drawn.question
    if position == drawn.correct_position:
        out.print("[bold green]✓ Right.[/]")
    else:
        letter = drawn.letters[drawn.correct_position]
        answer = drawn.options[drawn.correct_position].text
        out.print(f"[bold red]✗ Not quite.[/] The answer is {letter}: {escape(answer)}")
    out.print(escape(question.explanation))
    if question.basis == "derived":
        out.print(f"[italic]{DERIVED_NOTE}[/]")
    out.print(f"[dim]Source: {escape(question.reference)}[/]")


def _summary(result: QuizResult, bank: Bank) -> None:
    out.print()
    if result.answered == 0:
        out.print("No questions answered; nothing to score.")
        return
    stopped = "" if result.complete else f" (stopped after {result.answered} of {result.asked})"
    out.print(
        f"[bold]{result.correct} of {result.answered} right[/]{stopped}, bank {bank.version}."
    )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("topic", "right", "answered"):
        table.add_column(column, justify="left" if column == "topic" else "right")
    for topic, score in result.by_topic.items():
        if score.answered:
            table.add_row(escape(bank.topic(topic).title), str(score.correct), str(score.answered))
    out.print(table)
