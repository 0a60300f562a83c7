"""Wording packs: templates, validation against the definition, and fallback."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alliance.instruments.registry import DefinitionError, Registry
from alliance.instruments.wording import load_pack, project_wording, resolve, template


def filled_pack(registry: Registry, instrument_id: str, language: str = "de") -> dict:
    data = yaml.safe_load(template(registry.get(instrument_id), language))
    data["source"] = "Test wording (not licensed text)"
    data["items"] = {k: f"Text {k}" for k in data["items"]}
    if "options" in data:
        data["options"] = {k: f"Option {k}" for k in data["options"]}
    if "anchors" in data:
        data["anchors"] = {"min": "Links", "max": "Rechts"}
    for item_id, options in data.get("item_options", {}).items():
        data["item_options"][item_id] = {k: f"{item_id} option {k}" for k in options}
    return data


def write(tmp_path: Path, data: dict, name: str = "pack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_template_lists_every_item_and_option_blank(registry: Registry) -> None:
    text = template(registry.get("phq-9"), "de")
    data = yaml.safe_load(text)
    assert data["instrument"] == "phq-9"
    assert data["language"] == "de"
    assert list(data["items"]) == [f"item_{i}" for i in range(1, 11)]
    assert set(data["items"].values()) == {""}
    assert list(data["options"]) == [0, 1, 2, 3]
    assert list(data["item_options"]["item_10"]) == [0, 1, 2, 3]
    assert "# Thoughts of death or self-harm" in text  # the project label as a comment


@pytest.mark.parametrize("instrument_id", ["wai-sr", "phq-9", "srs"])
def test_a_filled_template_loads(registry: Registry, tmp_path: Path, instrument_id: str) -> None:
    pack = load_pack(write(tmp_path, filled_pack(registry, instrument_id)), registry)
    assert pack.instrument == instrument_id
    wording = resolve(registry.get(instrument_id), [pack], language="de-CH")
    assert wording.licensed
    assert wording.items["item_1"] == "Text item_1"


def test_blank_template_is_refused_naming_each_empty_field(
    registry: Registry, tmp_path: Path
) -> None:
    path = tmp_path / "blank.yaml"
    path.write_text(template(registry.get("gad-7"), "de"), encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_pack(path, registry)
    message = str(caught.value)
    assert "does not fit gad-7 1.0" in message
    assert "field items.item_1: missing or empty" in message
    assert "field options.3: missing or empty" in message


def test_unknown_and_missing_items(registry: Registry, tmp_path: Path) -> None:
    data = filled_pack(registry, "gad-7")
    data["items"]["item_8"] = "extra"
    del data["items"]["item_2"]
    data["options"][7] = "extra"
    with pytest.raises(DefinitionError) as caught:
        load_pack(write(tmp_path, data), registry)
    message = str(caught.value)
    assert "field items: unknown item item_8" in message
    assert "field items.item_2: missing or empty" in message
    assert "field options.7: not an option value (values: [0, 1, 2, 3])" in message


def test_pack_for_an_unknown_version(registry: Registry, tmp_path: Path) -> None:
    data = filled_pack(registry, "gad-7")
    data["version"] = "3.0"
    with pytest.raises(DefinitionError, match=r"gad-7 has no version '3\.0'"):
        load_pack(write(tmp_path, data), registry)


def test_pack_with_a_perspective_the_instrument_lacks(registry: Registry, tmp_path: Path) -> None:
    data = filled_pack(registry, "gad-7")
    data["perspective"] = "observer"
    with pytest.raises(DefinitionError, match="perspective 'observer' is not one of"):
        load_pack(write(tmp_path, data), registry)


def test_resolution_prefers_language_then_perspective(registry: Registry, tmp_path: Path) -> None:
    inst = registry.get("wai-s")
    base = filled_pack(registry, "wai-s", "de")
    general = load_pack(write(tmp_path, base, "a.yaml"), registry)
    clinician = load_pack(
        write(
            tmp_path,
            {**base, "perspective": "clinician", "items": {k: f"T {k}" for k in base["items"]}},
            "b.yaml",
        ),
        registry,
    )
    packs = [general, clinician]
    assert (
        resolve(inst, packs, language="de", perspective="clinician").items["item_1"] == "T item_1"
    )
    assert (
        resolve(inst, packs, language="de", perspective="client").items["item_1"] == "Text item_1"
    )
    fallback = resolve(inst, packs, language="fr", perspective="client")
    assert not fallback.licensed
    assert fallback.items == project_wording(inst).items


def test_project_wording_is_marked_unlicensed(registry: Registry) -> None:
    wording = project_wording(registry.get("srs"))
    assert not wording.licensed
    assert wording.anchors["item_1"] == ("Poor", "Excellent")
