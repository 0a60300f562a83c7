"""A broken definition is refused with a message naming the file, the field and the problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from alliance.instruments.registry import (
    BUILTIN_DIR,
    DefinitionError,
    Registry,
    builtin_registry,
    default_registry,
    load_definition,
)
from alliance.instruments.scoring import score


def raw(instrument_id: str = "gad-7") -> dict:
    return yaml.safe_load((BUILTIN_DIR / f"{instrument_id}.yaml").read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict, name: str | None = None) -> Path:
    path = tmp_path / f"{name or data['id']}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def refused(path: Path) -> str:
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    return str(caught.value)


def test_unknown_operation_names_file_field_and_value(tmp_path: Path) -> None:
    data = raw()
    data["scales"][0]["operation"]["name"] = "summ"
    message = refused(write(tmp_path, data))
    assert str(tmp_path / "gad-7.yaml") in message
    assert "field scales[0:total].operation.name" in message
    assert "'summ'" in message
    assert "'sum'" in message  # the allowed values are listed


def test_missing_citation(tmp_path: Path) -> None:
    data = raw()
    del data["citation"]
    assert "field citation: Field required" in refused(write(tmp_path, data))


def test_inconsistent_range(tmp_path: Path) -> None:
    data = raw()
    data["scales"][0]["range"] = [0, 27]
    assert "declares range 0–27 but its items and operation give 0–21" in refused(
        write(tmp_path, data)
    )


def test_unknown_scale_on_an_item(tmp_path: Path) -> None:
    data = raw()
    data["items"][2]["scales"] = ["totl"]
    assert "item_3 names unknown scales ['totl']" in refused(write(tmp_path, data))


def test_unlisted_source(tmp_path: Path) -> None:
    data = raw()
    data["scales"][0]["reliable_change"]["source"] = "nowhere"
    assert "cites source 'nowhere'" in refused(write(tmp_path, data))


def test_unverified_fact_needs_a_note(tmp_path: Path) -> None:
    data = raw()
    data["scales"][0]["cutoffs"][0]["verified"] = False
    message = refused(write(tmp_path, data))
    assert "field scales[0:total].cutoffs[0:gad]" in message
    assert "needs a note" in message


def test_unknown_field_is_refused(tmp_path: Path) -> None:
    data = raw()
    data["scales"][0]["reverse_items"] = [1]
    assert "field scales[0:total].reverse_items: Extra inputs are not permitted" in refused(
        write(tmp_path, data)
    )


def test_sum_with_missing_items_is_refused(tmp_path: Path) -> None:
    data = raw()
    data["scales"][0]["operation"]["max_missing"] = 1
    assert "use prorated_sum" in refused(write(tmp_path, data))


def test_items_must_be_numbered_in_order(tmp_path: Path) -> None:
    data = raw()
    data["items"][1]["id"] = "item_9"
    assert "items must be item_1 … item_7 in order" in refused(write(tmp_path, data))


def test_file_name_must_match_id(tmp_path: Path) -> None:
    assert "does not match the file name" in refused(write(tmp_path, raw(), name="gad7"))


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: broken\nitems: [\n  - {id: item_1\n", encoding="utf-8")
    message = refused(path)
    assert message.startswith(f"{path}: line ")
    assert "not valid YAML" in message


def test_registry_lookup() -> None:
    registry = builtin_registry()
    assert registry.get("wai-sr").version == "1.0"
    assert registry.versions("wai-sr") == ["1.0"]
    assert "phq-9" in registry
    with pytest.raises(KeyError, match="unknown instrument 'wai-x'; known instruments: core-10"):
        registry.get("wai-x")
    with pytest.raises(KeyError, match=r"wai-sr has no version '9\.9'; versions: 1\.0"):
        registry.get("wai-sr", "9.9")


def test_questions_are_named_by_place_and_the_projects_label() -> None:
    registry = builtin_registry()
    phq9 = registry.get("phq-9")
    assert phq9.question_name("item_9") == "PHQ-9 question 9 (thoughts of death or self-harm)"
    core10 = registry.get("core-10")
    assert core10.question_name("item_6") == "CORE-10 question 6 (plans to end one's life)"
    with pytest.raises(KeyError, match="phq-9 has no item 'item_99'"):
        phq9.question_name("item_99")


def test_newest_version_wins(tmp_path: Path) -> None:
    data = raw()
    data["version"] = "1.10"
    newer = load_definition(write(tmp_path, data), origin="site")
    registry = Registry([*builtin_registry(), newer])
    assert registry.versions("gad-7") == ["1.0", "1.10"]
    assert registry.get("gad-7").version == "1.10"
    assert registry.get("gad-7", "1.0").origin == "builtin"


def test_site_definition_with_a_confirmed_key_is_computed(tmp_path: Path) -> None:
    """A site that holds the WAI-S key supplies it; the built-in definition stays refused.

    The key written here is a placeholder for the mechanism only, NOT the published key.
    """
    data = raw("wai-s")
    for n, item in enumerate(data["items"]):
        item["scales"] = [("task", "goal", "bond")[n % 3], "total"]
    data["sources"]["site-key"] = "Test fixture (placeholder key, not the published one)."
    for scale in data["scales"]:
        scale.update(source="site-key", verified=True)
        scale.pop("note")
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    write(site_dir, data)
    registry = default_registry(site_dir)
    inst = registry.get("wai-s")
    assert inst.origin == "site"
    result = score(inst, np.full((1, 12), 7.0))
    assert result.refused == {}
    assert result.scales["total"].values[0] == 84
    assert score(builtin_registry().get("wai-s"), np.full((1, 12), 7.0)).scales == {}


def test_environment_variable_adds_site_definitions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = raw()
    data["version"] = "2.0"
    write(tmp_path, data)
    monkeypatch.setenv("ALLIANCE_INSTRUMENTS_DIR", str(tmp_path))
    assert default_registry().get("gad-7").version == "2.0"


def test_site_directory_with_a_broken_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("id: x\n", encoding="utf-8")
    with pytest.raises(DefinitionError, match=r"x.yaml: \d+ problem"):
        default_registry(tmp_path)


def test_no_definition_leans_on_a_page_that_misattributes_the_wai_sr() -> None:
    # hiboop.com's WAI guide credits the WAI-SR to Munder et al. (2010) and rates it on 7
    # points; it was cited as corroboration for the WAI, WAI-S, SRS and ORS
    for path in BUILTIN_DIR.glob("*.yaml"):
        assert "hiboop" not in path.read_text(encoding="utf-8"), path.name
    assert builtin_registry().get("ors").scale("total").reliable_change is None


def test_wai_b3_cites_its_authors_and_title() -> None:
    citation = " ".join(builtin_registry().get("wai-b3").citation.split())
    assert citation.startswith("Li, X., Zhao, H., Wu, M., Li, F., & Hill, C. E. (2023).")
    assert "The development of a Brief Working Alliance Inventory" in citation


def test_the_srs_carries_openfits_one_point_drop() -> None:
    drop = builtin_registry().get("srs").scale("total").session_drop
    assert drop is not None and drop.value == 1 and drop.verified
    assert "204000069702" in builtin_registry().get("srs").sources[drop.source]
    others = [i.id for i in builtin_registry() for s in i.scales if s.session_drop]
    assert others == ["srs"]
