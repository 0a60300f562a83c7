"""A broken bank is refused with messages naming the file, the question and the field."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from alliance.learning.bank import BUILTIN_DIR, INDEX_FILE, BankError, load_bank


@pytest.fixture
def bank_dir(tmp_path: Path) -> Path:
    """A copy of the shipped bank to break."""
    target = tmp_path / "bank"
    shutil.copytree(BUILTIN_DIR, target)
    return target


def read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def write(path: Path, data: object) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def edit_first(bank_dir: Path, name: str = "bordin.yaml") -> tuple[Path, dict[str, Any]]:
    """The file and its first question, ready to change and write back."""
    path = bank_dir / name
    return path, read(path)


def refused(bank_dir: Path) -> str:
    with pytest.raises(BankError) as caught:
        load_bank(bank_dir)
    return str(caught.value)


def test_the_unbroken_copy_loads(bank_dir: Path) -> None:
    assert len(load_bank(bank_dir)) >= 40


def test_two_correct_options(bank_dir: Path) -> None:
    path, data = edit_first(bank_dir)
    data["questions"][0]["options"][2]["correct"] = True
    write(path, data)
    message = refused(bank_dir)
    assert f"{path}: question bordin-three-components: field options: " in message
    assert "exactly one option must have correct: true; found 2 (options 1, 3)" in message


def test_no_correct_option(bank_dir: Path) -> None:
    path, data = edit_first(bank_dir)
    del data["questions"][1]["options"][0]["correct"]
    write(path, data)
    message = refused(bank_dir)
    assert "question bordin-strength-not-kind: field options: exactly one option" in message
    assert "found 0" in message


def test_options_must_be_distinct(bank_dir: Path) -> None:
    path, data = edit_first(bank_dir)
    options = data["questions"][0]["options"]
    options[3]["text"] = "  empathy,  WARMTH and genuineness "
    write(path, data)
    message = refused(bank_dir)
    assert "question bordin-three-components: field options: options 2 and 4 have the same" in (
        message
    )


def test_too_few_options(bank_dir: Path) -> None:
    path, data = edit_first(bank_dir)
    data["questions"][0]["options"] = data["questions"][0]["options"][:2]
    write(path, data)
    message = refused(bank_dir)
    assert "question bordin-three-components: field options: " in message
    assert "at least 3 items" in message


def test_missing_explanation_and_blank_reference(bank_dir: Path) -> None:
    path, data = edit_first(bank_dir)
    del data["questions"][0]["explanation"]
    data["questions"][0]["reference"] = "   "
    write(path, data)
    message = refused(bank_dir)
    assert f"{path}: question bordin-three-components: field explanation: Field required" in (
        message
    )
    assert "question bordin-three-components: field reference: String should have at least 1" in (
        message
    )


def test_blank_option_text_names_the_option(bank_dir: Path) -> None:
    path, data = edit_first(bank_dir)
    data["questions"][0]["options"][1]["text"] = ""
    write(path, data)
    assert "question bordin-three-components: field options[1].text: " in refused(bank_dir)


def test_unknown_basis_lists_the_allowed_values(bank_dir: Path) -> None:
    path, data = edit_first(bank_dir)
    data["questions"][0]["basis"] = "folklore"
    write(path, data)
    message = refused(bank_dir)
    assert "question bordin-three-components: field basis: " in message
    assert "'published' or 'derived'" in message
    assert "(got 'folklore')" in message


def test_misspelt_field(bank_dir: Path) -> None:
    path, data = edit_first(bank_dir)
    data["questions"][0]["referense"] = data["questions"][0].pop("reference")
    write(path, data)
    message = refused(bank_dir)
    assert "field referense: Extra inputs are not permitted" in message
    assert "field reference: Field required" in message


def test_ids_must_be_unique_across_files(bank_dir: Path) -> None:
    path, data = edit_first(bank_dir, "ceiling.yaml")
    data["questions"][0]["id"] = "bordin-three-components"
    write(path, data)
    message = refused(bank_dir)
    assert (
        f"{path}: question bordin-three-components: field id: already used in bordin.yaml"
        in message
    )


def test_unknown_topic(bank_dir: Path) -> None:
    path, data = edit_first(bank_dir)
    data["questions"][2]["topic"] = "bordn"
    write(path, data)
    message = refused(bank_dir)
    assert f"{path}: question bordin-beyond-psychotherapy: field topic: unknown topic 'bordn'" in (
        message
    )
    assert "topics in bank.yaml: bordin, prediction" in message


def test_a_topic_without_questions(bank_dir: Path) -> None:
    (bank_dir / "feedback.yaml").unlink()
    message = refused(bank_dir)
    assert f"{bank_dir / INDEX_FILE}: field topics: no questions for feedback" in message


def test_question_without_id(bank_dir: Path) -> None:
    path, data = edit_first(bank_dir)
    del data["questions"][1]["id"]
    write(path, data)
    message = refused(bank_dir)
    assert f"{path}: question #2 (no id): field id: Field required" in message


def test_invalid_yaml_names_file_and_line(bank_dir: Path) -> None:
    path = bank_dir / "bordin.yaml"
    path.write_text("questions:\n  - id: x\n    stem: [unclosed\n", encoding="utf-8")
    message = refused(bank_dir)
    assert f"{path}: line " in message
    assert "not valid YAML" in message


def test_a_file_that_is_not_a_questions_list(bank_dir: Path) -> None:
    write(bank_dir / "notes.yaml", {"question": []})
    (bank_dir / "empty.yaml").write_text("", encoding="utf-8")
    message = refused(bank_dir)
    assert (
        f"{bank_dir / 'notes.yaml'}: expected a mapping with one key, questions; got question"
        in (message)
    )
    assert f"{bank_dir / 'empty.yaml'}: empty file" in message


def test_index_problems(bank_dir: Path) -> None:
    index = read(bank_dir / INDEX_FILE)
    index["bank_version"] = "one"
    index["topics"].append({"id": "bordin", "title": "Again"})
    write(bank_dir / INDEX_FILE, index)
    message = refused(bank_dir)
    assert f"{bank_dir / INDEX_FILE}: field bank_version: String should match pattern" in message
    assert "field topics: topic ids must be distinct; repeated: bordin" in message


def test_missing_index(bank_dir: Path) -> None:
    (bank_dir / INDEX_FILE).unlink()
    assert f"{bank_dir / INDEX_FILE}: missing" in refused(bank_dir)


def test_not_a_folder(tmp_path: Path) -> None:
    assert "not a folder holding a question bank" in refused(tmp_path / "nowhere")


def test_every_problem_is_reported_at_once(bank_dir: Path) -> None:
    path, data = edit_first(bank_dir)
    data["questions"][0]["options"][1]["correct"] = True
    data["questions"][3]["topic"] = "nope"
    write(path, data)
    other, more = edit_first(bank_dir, "feedback.yaml")
    del more["questions"][0]["stem"]
    write(other, more)
    message = refused(bank_dir)
    assert message.startswith(f"3 problem(s) in the question bank at {bank_dir}:")
    assert len(message.splitlines()) == 4
