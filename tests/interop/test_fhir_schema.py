"""Every resource the project writes passes the official R4 JSON Schema and fhir.resources:
the Questionnaires, a Bundle of every example client's record, and the project's published
StructureDefinitions and CodeSystems; exports made before the fixed base still read."""

from __future__ import annotations

import json
from pathlib import Path

from alliance.instruments.registry import Registry
from alliance.interop import fhir, fhir_profile
from alliance.interop.fhir_import import read_bundle
from alliance.interop.fhir_terms import PROJECT_BASE
from alliance.interop.tabular import read_administrations
from alliance.interop.wide import from_wide
from tests.fixtures.fhir_schema import every_resource, problems

EXAMPLES = Path(__file__).parents[2] / "examples"


def examples(registry: Registry) -> list:  # type: ignore[type-arg]
    table, report = read_administrations(EXAMPLES / "administrations.csv", registry)
    assert report.ok
    return from_wide(table, registry)


def test_everything_written_passes_the_r4_schema(registry: Registry) -> None:
    written = [fhir.questionnaire(inst) for inst in registry]
    written += fhir_profile.structure_definitions() + fhir_profile.code_systems(registry)
    records = examples(registry)
    for client in sorted({r.client for r in records}):
        mine = [r for r in records if r.client == client]
        written.append(fhir.bundle(client, mine, registry))
    checked = 0
    for resource in written:
        for part in every_resource(json.loads(fhir.to_json(resource))):
            assert problems(part) == [], part.get("id")
            checked += 1
    assert checked > 100


def test_the_published_definitions_cover_every_url_written(registry: Registry) -> None:
    defined = {str(s.url) for s in fhir_profile.structure_definitions()}
    systems = {str(c.url) for c in fhir_profile.code_systems(registry)}
    records = examples(registry)
    text = "".join(
        fhir.to_json(fhir.bundle(c, [r for r in records if r.client == c], registry))
        for c in sorted({r.client for r in records})
    )
    used = set(json.loads(json.dumps(text)).split('"'))
    ours = {
        u
        for u in used
        if u.startswith((f"{PROJECT_BASE}/StructureDefinition/", f"{PROJECT_BASE}/CodeSystem/"))
    }
    assert ours <= defined | systems, ours - defined - systems
    assert {u for u in ours if "/StructureDefinition/" in u}  # the check is not empty


def test_an_export_made_under_the_sites_own_base_still_reads(registry: Registry) -> None:
    records = [r for r in examples(registry) if r.client == "C002"]
    site = "https://clinic.example/api/v1/fhir"
    text = fhir.to_json(fhir.bundle("C002", records, registry, base_url=site))
    before = text.replace(f"{PROJECT_BASE}/StructureDefinition/", f"{site}/StructureDefinition/")
    before = before.replace(f"{PROJECT_BASE}/CodeSystem/", f"{site}/CodeSystem/")
    assert before != text
    back, report = read_bundle(before, registry, base_url=site)
    assert report.ok, report.problems
    assert back == records
