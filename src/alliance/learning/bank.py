"""The self-check question bank: multiple-choice questions as data, validated once when loaded.

The bank lives in ``questions/``: ``bank.yaml`` gives the bank's version and its topics, and
every other ``*.yaml`` file holds a list of questions (by convention one file per topic). Each
question has an id, a topic, a ``basis`` (``published`` when the correct answer states a
finding of its reference; ``derived`` when it is the project's reading of the referenced
findings for practice), a stem, three to five options of which exactly one is correct, an
explanation and a reference.

A broken bank is refused as a whole with one line per problem naming the file, the question
and the field, so that an editor can fix every problem in one pass.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from alliance.instruments.registry import DefinitionError, read_yaml

BUILTIN_DIR = Path(__file__).parent / "questions"
INDEX_FILE = "bank.yaml"
LETTERS = "ABCDE"
MIN_OPTIONS, MAX_OPTIONS = 3, len(LETTERS)

Basis = Literal["published", "derived"]
_ID = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class BankError(ValueError):
    """A question bank that cannot be used; one line per problem (file, question, field)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Option(_Frozen):
    """One answer option as written in the bank."""

    text: str = Field(min_length=1)
    correct: bool = False


class Question(_Frozen):
    """One multiple-choice question; ``options`` are in the bank's order."""

    id: str = Field(pattern=_ID)
    topic: str = Field(pattern=_ID)
    basis: Basis
    stem: str = Field(min_length=1)
    options: tuple[Option, ...] = Field(min_length=MIN_OPTIONS, max_length=MAX_OPTIONS)
    explanation: str = Field(min_length=1)
    reference: str = Field(min_length=1)

    @field_validator("options")
    @classmethod
    def _one_correct_and_distinct(cls, options: tuple[Option, ...]) -> tuple[Option, ...]:
        marked = [i + 1 for i, option in enumerate(options) if option.correct]
        if len(marked) != 1:
            where = f" (options {', '.join(map(str, marked))})" if marked else ""
            raise ValueError(
                f"exactly one option must have correct: true; found {len(marked)}{where}"
            )
        seen: dict[str, int] = {}
        for number, option in enumerate(options, start=1):
            key = " ".join(option.text.casefold().split())
            if key in seen:
                raise ValueError(
                    f"options {seen[key]} and {number} have the same text: {option.text!r}"
                )
            seen[key] = number
        return options

    @property
    def answer(self) -> int:
        """Index (in the bank's order) of the correct option."""
        return next(i for i, option in enumerate(self.options) if option.correct)


class Topic(_Frozen):
    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1)


class _Index(_Frozen):
    """The contents of ``bank.yaml``."""

    bank_version: str = Field(pattern=r"^[0-9]+(?:\.[0-9]+)*$")
    title: str = Field(min_length=1)
    topics: tuple[Topic, ...] = Field(min_length=1)

    @field_validator("topics")
    @classmethod
    def _distinct(cls, topics: tuple[Topic, ...]) -> tuple[Topic, ...]:
        ids = [t.id for t in topics]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"topic ids must be distinct; repeated: {', '.join(repeated)}")
        return topics


@dataclass(frozen=True)
class Bank:
    """A validated question bank: look questions up by id or by topic."""

    version: str
    title: str
    topics: tuple[Topic, ...]
    questions: tuple[Question, ...]
    _by_id: dict[str, Question] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {q.id: q for q in self.questions})

    def __iter__(self) -> Iterator[Question]:
        return iter(self.questions)

    def __len__(self) -> int:
        return len(self.questions)

    @property
    def topic_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.topics)

    def topic(self, topic_id: str) -> Topic:
        for topic in self.topics:
            if topic.id == topic_id:
                return topic
        raise KeyError(f"unknown topic {topic_id!r}; topics: {', '.join(self.topic_ids)}")

    def in_topic(self, topic_id: str) -> tuple[Question, ...]:
        self.topic(topic_id)
        return tuple(q for q in self.questions if q.topic == topic_id)

    def get(self, question_id: str) -> Question:
        try:
            return self._by_id[question_id]
        except KeyError:
            raise KeyError(f"no question {question_id!r} in bank {self.version}") from None

    @property
    def digest(self) -> str:
        """SHA-256 of the bank's content (version, topics, questions); file layout aside."""
        content = {
            "version": self.version,
            "title": self.title,
            "topics": [t.model_dump() for t in self.topics],
            "questions": sorted((q.model_dump() for q in self.questions), key=lambda q: q["id"]),
        }
        text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_bank(directory: Path = BUILTIN_DIR) -> Bank:
    """Read and validate a bank folder; raise :class:`BankError` listing every problem."""
    if not directory.is_dir():
        raise BankError(f"{directory}: not a folder holding a question bank")
    problems: list[str] = []
    index = _read_index(directory / INDEX_FILE, problems)
    found: list[tuple[Path, Question]] = []
    files = sorted(p for p in directory.glob("*.yaml") if p.name != INDEX_FILE)
    if not files:
        problems.append(f"{directory}: no question files (*.yaml besides {INDEX_FILE})")
    for path in files:
        found.extend((path, q) for q in _read_questions(path, problems))
    if index is not None:
        _check_bank(directory, index, found, problems)
    if problems or index is None:
        raise BankError(
            f"{len(problems)} problem(s) in the question bank at {directory}:\n"
            + "\n".join(problems)
        )
    return Bank(
        version=index.bank_version,
        title=index.title,
        topics=index.topics,
        questions=tuple(q for _, q in found),
    )


@cache
def builtin_bank() -> Bank:
    """The bank shipped with the package (read once)."""
    return load_bank(BUILTIN_DIR)


def _read(path: Path, problems: list[str]) -> Any:
    try:
        return read_yaml(path)
    except DefinitionError as exc:
        problems.append(str(exc))
        return None


def _read_index(path: Path, problems: list[str]) -> _Index | None:
    if not path.is_file():
        problems.append(f"{path}: missing; it gives the bank_version, title and topics")
        return None
    raw = _read(path, problems)
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append(f"{path}: expected a mapping with bank_version, title and topics")
        return None
    try:
        return _Index.model_validate(raw)
    except ValidationError as exc:
        problems.extend(f"{path}: {line}" for line in _describe(exc))
        return None


def _read_questions(path: Path, problems: list[str]) -> list[Question]:
    before = len(problems)
    raw = _read(path, problems)
    if raw is None:
        if len(problems) == before:
            problems.append(f"{path}: empty file; expected a mapping with a questions list")
        return []
    if not isinstance(raw, dict) or set(raw) != {"questions"}:
        keys = ", ".join(map(str, raw)) if isinstance(raw, dict) else type(raw).__name__
        problems.append(f"{path}: expected a mapping with one key, questions; got {keys}")
        return []
    items = raw["questions"]
    if not isinstance(items, list) or not items:
        problems.append(f"{path}: field questions: expected a non-empty list of questions")
        return []
    questions: list[Question] = []
    for number, item in enumerate(items, start=1):
        label = _label(item, number)
        if not isinstance(item, dict):
            problems.append(f"{path}: {label}: expected a mapping of fields")
            continue
        try:
            questions.append(Question.model_validate(item))
        except ValidationError as exc:
            problems.extend(f"{path}: {label}: {line}" for line in _describe(exc))
    return questions


def _label(item: object, number: int) -> str:
    if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"].strip():
        return f"question {item['id'].strip()}"
    return f"question #{number} (no id)"


def _describe(exc: ValidationError) -> list[str]:
    """``field options[2].text: String should have at least 1 character``, one per error."""
    lines = []
    for error in exc.errors():
        where = ""
        for key in error["loc"]:
            where += f"[{key}]" if isinstance(key, int) else f".{key}" if where else str(key)
        got = error.get("input")
        shown = "" if isinstance(got, dict | list | tuple) or got is None else f" (got {got!r})"
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"field {where or '(top level)'}: {message}{shown}")
    return lines


def _check_bank(
    directory: Path, index: _Index, found: list[tuple[Path, Question]], problems: list[str]
) -> None:
    """Checks across files: ids unique, topics known, every topic has questions."""
    topics = [t.id for t in index.topics]
    first_seen: dict[str, Path] = {}
    for path, question in found:
        if question.id in first_seen:
            problems.append(
                f"{path}: question {question.id}: field id: already used in "
                f"{first_seen[question.id].name}; ids must be unique across the bank"
            )
        first_seen.setdefault(question.id, path)
        if question.topic not in topics:
            problems.append(
                f"{path}: question {question.id}: field topic: unknown topic "
                f"{question.topic!r}; topics in {INDEX_FILE}: {', '.join(topics)}"
            )
    used = {q.topic for _, q in found}
    empty = [t for t in topics if t not in used]
    if empty and found:
        problems.append(
            f"{directory / INDEX_FILE}: field topics: no questions for {', '.join(empty)}"
        )
