"""The reference rules the engine cites (``core.sources``): every rule id the core names has its words and
its sources, the table holds exactly the rule ids of ../shared/domain/reference.md, and a rule's sources are
the ones the reference names for it (never another rule's)."""

from __future__ import annotations

import re
from pathlib import Path

from isotrack.core import RULE_SET_SOURCES, RULE_SETS, RULES, rule
from isotrack.core.sources import KIND_WORDS, LAB_SOURCES, NONE_NAMED

CORE = Path(__file__).resolve().parents[2] / "src" / "isotrack" / "core"
REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "domain" / "reference.md"
RULE_ID = r"(?:IPL|LAB|DOSE|MOOD|MED|ALERT)(?:-[A-Z0-9]+)*"


def test_every_rule_id_the_core_cites_has_its_words_and_sources() -> None:
    cited = {
        found
        for path in CORE.rglob("*.py")
        if path.name != "sources.py"
        for found in re.findall(rf'"({RULE_ID})"', path.read_text(encoding="utf-8"))
    }
    assert len(cited) > 25  # the scan finds the engine's citations (IPL-WIN-7, LAB-TG-CRIT, DOSE-CUM...)
    assert cited <= set(RULES), sorted(cited - set(RULES))


def test_the_table_holds_exactly_the_rule_ids_of_the_reference() -> None:
    written = set(re.findall(rf"`({RULE_ID})`", REFERENCE.read_text(encoding="utf-8")))
    assert written == set(RULES)


def test_each_rule_names_its_section_and_kind() -> None:
    for rule_id, found in RULES.items():
        assert found.id == rule_id and found.says.endswith(".")
        assert found.kind in KIND_WORDS and f"§{found.section}" in found.source
    assert rule("IPL-WIN-7").section == "1.5" and rule("IPL-WIN-7").kind == "regulation"  # type: ignore[union-attr]
    assert rule("LAB-TG-CRIT").kind == "convention"  # type: ignore[union-attr]  # ⚙ in the reference
    assert rule("IPL-COURSE-END").section == "1.5"  # type: ignore[union-attr]
    assert rule("NO-SUCH-RULE") is None


def test_a_rule_cites_only_the_sources_the_reference_names_for_it() -> None:
    ipledge = "iPLEDGE REMS documents of 2021-10-08"
    for found in RULES.values():
        if found.section.startswith("1"):  # §1 ends with its "Sources:" line
            assert ipledge in found.source
        elif found.section == "2":
            assert "Tan 2015" in found.source
        elif found.id in ("LAB-BASE", "LAB-PEAK"):  # the lab monitoring evidence, cited for these alone
            assert found.sources == LAB_SOURCES
        else:
            assert not set(found.sources) & set(LAB_SOURCES), found.id
    for rule_id in ("MOOD", "MED-TETRA", "MED-VITA", "ALERT-URGENCY"):  # §3 names no source for these
        assert rule(rule_id).source.endswith(f"sources: {NONE_NAMED}")  # type: ignore[union-attr]
    assert "no authoritative numbers" in rule("LAB-TG-HIGH").source  # type: ignore[union-attr]
    assert "iPLEDGE guide" in rule("MED-INDUCER").source  # type: ignore[union-attr]
    assert "enrollment form" in rule("IPL-CAT").source  # type: ignore[union-attr]


def test_a_rule_for_one_category_says_so() -> None:
    for rule_id in ("IPL-CON-2", "IPL-CON-LEAD", "IPL-PT-SCREEN", "IPL-PT-CONFIRM", "IPL-PT-MONTH"):
        assert RULES[rule_id].says.startswith("Patients who can get pregnant: "), rule_id
    for rule_id in ("IPL-PRESCRIBER-CONFIRM", "IPL-PATIENT-QUIZ", "IPL-LOCK-19"):
        assert RULES[rule_id].says.startswith("Patients who can get pregnant: "), rule_id
    for rule_id in ("IPL-COUNSEL-MONTH", "IPL-2026-CNGP", "IPL-WIN-30"):
        assert RULES[rule_id].says.startswith("Patients who cannot get pregnant"), rule_id


def test_the_steps_made_on_the_ipledge_website_are_marked() -> None:
    marked = {rule_id for rule_id, found in RULES.items() if found.done_in_ipledge}
    assert marked == {"IPL-ENROLL", "IPL-PRESCRIBER-CONFIRM", "IPL-PATIENT-QUIZ"}


def test_every_rule_set_has_its_sources() -> None:
    assert set(RULE_SET_SOURCES) == set(RULE_SETS)
    assert all(RULE_SET_SOURCES[rule_set_id] for rule_set_id in RULE_SETS)
    assert any("2026-02-09" in source for source in RULE_SET_SOURCES["us-ipledge-2026"])
    assert not any("2023" in source for source in RULE_SET_SOURCES["us-ipledge-2026"])
    assert not any("2026" in source for source in RULE_SET_SOURCES["us-ipledge-2021"])
