"""The reference rules the engine cites, each with what it says and where it comes from.

Every decision names a rule id of ``../shared/domain/reference.md`` (``Evaluation.rule_ids()``, a blocking
reason's ``rule_id``, an alert's, a step's). This table gives each id its plain words, the reference's section
and the sources the reference names for it, so that a person (the course page, the reference page, a CDS Hooks
card shaped as the REMS guide's "external reference") can see what a decision rests on and how firm that
ground is: a REMS requirement, product labeling, published evidence, a practice convention (⚙ in the
reference: configurable, no authoritative number), or the reference's own statement where it names no source.

The sources are as the reference names them, no more: it gives publishers and titles, not addresses, and this
table invents none. §1 and §2 end with a "Sources:" line (their rules' sources); §3 names its sources inline,
for some rules only: the others say that no source is named. Pure data: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

Kind: TypeAlias = Literal["regulation", "label", "evidence", "convention", "reference"]

KIND_WORDS: dict[Kind, str] = {
    "regulation": "iPLEDGE REMS requirement",
    "label": "product labeling",
    "evidence": "published evidence",
    "convention": "practice convention (configurable)",
    "reference": "isotrack's reference (not a configurable convention)",
}


@dataclass(frozen=True, slots=True)
class Chapter:
    number: str  # the reference's section: "1", "2", "3"
    title: str
    sources: tuple[str, ...]  # as the reference's "Sources:" line names them; () where it has none


IPLEDGE_SOURCES = (
    'FDA iPLEDGE REMS page and Q&A (fda.gov, "iPLEDGE Risk Evaluation and Mitigation Strategy")',
    "iPLEDGE REMS documents of 2021-10-08 (accessdata.fda.gov, Isotretinoin_2021_10_8_*)",
    "Reports of the FDA's 2026-02-09 approval of the modified REMS (dermatologytimes.com, epocrates.com)",
    "The FDA's letter of 2023-11-30, as reported by acneandrosacea.org and aad.org",
    "Absorica label, section 5",
)
DOSE_SOURCES = (
    "Absorica and Absorica LD labels (medlibrary.org); Claravis and Amnesteem monographs",
    "Blasiak 2013, JAMA Dermatology (220 mg/kg)",
    "Tan 2015, Journal of Cutaneous Medicine and Surgery (120–150 mg/kg)",
    "Acta Dermato-Venereologica, PubMed 33938693 (Absorica LD against Absorica)",
)
LAB_SOURCES = (
    "Hansen 2016, Journal of the American Academy of Dermatology",
    "Barbieri 2020, Journal of the American Academy of Dermatology",
    "Delphi consensus on laboratory monitoring, JAMA Dermatology 2022",
)
NO_AUTHORITY = ("None: the reference marks these thresholds as conventions; no authoritative numbers exist",)

CHAPTERS: dict[str, Chapter] = {
    "1": Chapter("1", "iPLEDGE REMS (United States)", IPLEDGE_SOURCES),
    "2": Chapter("2", "Dose", DOSE_SOURCES),
    "3": Chapter("3", "Laboratory monitoring and other safety checks", ()),
}
NONE_NAMED = "no source named in the reference"


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    says: str  # the rule in plain words, with whom it applies to
    section: str  # the reference's section, e.g. "1.5"
    kind: Kind
    # The sources the reference names for this rule; None: its chapter's "Sources:" line.
    own_sources: tuple[str, ...] | None = None
    # Whether the step is made on the iPLEDGE website itself (reference §1: staff and patients enter
    # everything there), so that a reader is pointed to it.
    done_in_ipledge: bool = False

    @property
    def chapter(self) -> Chapter:
        return CHAPTERS[self.section.split(".")[0]]

    @property
    def sources(self) -> tuple[str, ...]:
        return self.own_sources if self.own_sources is not None else self.chapter.sources

    @property
    def kind_words(self) -> str:
        return KIND_WORDS[self.kind]

    @property
    def source(self) -> str:
        """One line: how firm the rule is, the reference's section and the sources it names."""
        named = "; ".join(self.sources) if self.sources else NONE_NAMED
        where = f"isotrack's reference §{self.section} ({self.chapter.title})"
        return f"{self.kind_words}; {where}; sources: {named}"


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {rule.id: rule for rule in rules}


CGP = "Patients who can get pregnant: "

RULES: dict[str, Rule] = _rules(
    Rule(
        "IPL-CAT",
        "Two patient categories, can get pregnant and cannot get pregnant, assigned by the prescriber; "
        "not sex or gender.",
        "1.2",
        "regulation",
        own_sources=(
            "iPLEDGE patient enrollment form, 2021, as encoded in MITRE's mcode/rems-admin "
            "(Questionnaire-R4-IPledge)",
            *IPLEDGE_SOURCES,
        ),
    ),
    Rule(
        "IPL-ENROLL",
        "The patient is registered in iPLEDGE before any prescription.",
        "1.5",
        "regulation",
        done_in_ipledge=True,
    ),
    Rule(
        "IPL-CON-2",
        CGP + "two contraception methods used together, at least one of them primary, or a commitment to "
        "continuous abstinence.",
        "1.3",
        "regulation",
        own_sources=("iPLEDGE patient consent, 2021", *IPLEDGE_SOURCES),
    ),
    Rule(
        "IPL-CON-LEAD",
        CGP + "those methods used for at least 30 days before the confirmation pregnancy test.",
        "1.3",
        "regulation",
    ),
    Rule(
        "IPL-PT-SCREEN",
        CGP + "a negative screening pregnancy test before the first prescription.",
        "1.3",
        "regulation",
    ),
    Rule(
        "IPL-PT-CONFIRM",
        CGP + "a negative confirmation pregnancy test at least 19 days after the screening test.",
        "1.3",
        "regulation",
    ),
    Rule(
        "IPL-PT-SETTING",
        "Pre-treatment pregnancy tests are never home tests; 2021: the confirmation test in a CLIA-certified "
        "laboratory; 2026: any medical setting.",
        "1.3",
        "regulation",
    ),
    Rule(
        "IPL-PT-MONTH",
        CGP + "a negative pregnancy test before each monthly prescription can be filled (lab or office; a "
        "home test only where the prescriber permits it and a staff member verified it).",
        "1.4",
        "regulation",
    ),
    Rule(
        "IPL-PRESCRIBER-CONFIRM",
        CGP + "each month the prescriber (or designee) confirms in iPLEDGE the counseling, the two methods "
        "and the test result; only after the test.",
        "1.4",
        "regulation",
        done_in_ipledge=True,
    ),
    Rule(
        "IPL-PATIENT-QUIZ",
        CGP + "each month the patient answers the comprehension questions and enters the same two methods "
        "in iPLEDGE; only after the prescriber's confirmation.",
        "1.4",
        "regulation",
        done_in_ipledge=True,
    ),
    Rule(
        "IPL-COUNSEL-MONTH",
        "Patients who cannot get pregnant, 2021 rules: the prescriber documents counseling at an office "
        "visit each month.",
        "1.4",
        "regulation",
    ),
    Rule(
        "IPL-2026-CNGP",
        "Patients who cannot get pregnant, 2026 rules: counseling is documented at enrollment only, and the "
        "30-day window is gone.",
        "1.4",
        "regulation",
    ),
    Rule(
        "IPL-WIN-7",
        "The fill window opens on the qualifying test's specimen collection date (day 1); its last day is "
        "day 7.",
        "1.5",
        "regulation",
    ),
    Rule(
        "IPL-WIN-30",
        "Patients who cannot get pregnant, 2021 rules: pick-up within 30 days of the counseling visit "
        "(day 1).",
        "1.5",
        "regulation",
    ),
    Rule(
        "IPL-LOCK-19",
        CGP + "2021 rules only: when the first prescription's window is missed, the next qualifying test is "
        "collected at least 19 days after the test that opened it.",
        "1.5",
        "regulation",
    ),
    Rule("IPL-SUPPLY", "At most a 30-day supply per dispense, no refills.", "1.5", "regulation"),
    Rule(
        "IPL-PT-POSITIVE",
        "A positive pregnancy test (or suspected pregnancy) ends the course; its follow-up steps are "
        "recorded.",
        "1.5",
        "regulation",
    ),
    Rule(
        "IPL-PREG-STOP",
        "After a positive test: stop the drug at once and tell the patient (the prescriber, the same day).",
        "1.5",
        "regulation",
    ),
    Rule(
        "IPL-PREG-REFER",
        "After a positive test: refer to an obstetrician-gynecologist experienced in reproductive toxicity.",
        "1.5",
        "regulation",
    ),
    Rule(
        "IPL-PREG-REPORT",
        "After a positive test: report to the iPLEDGE pregnancy registry and to FDA MedWatch.",
        "1.5",
        "regulation",
    ),
    Rule("IPL-COURSE-END", "Nothing is dispensed after the course ended.", "1.5", "regulation"),
    Rule(
        "DOSE-CUM",
        "The cumulative dose is the sum of each day's mg actually taken; holds and missed doses count zero, "
        "and a missed dose is never doubled.",
        "2",
        "reference",
    ),
    Rule(
        "DOSE-TARGET",
        "The usual course target is 120–150 mg/kg (practice default 150 mg/kg); 220 mg/kg or more is used "
        "to lower relapse.",
        "2",
        "convention",
    ),
    Rule(
        "DOSE-WEIGHT",
        "mg/kg is divided by the starting weight (practice default), or per day by that day's weight.",
        "2",
        "convention",
    ),
    Rule(
        "DOSE-LD",
        "Absorica LD is not interchangeable mg for mg with conventional isotretinoin (about 1.25 times; an "
        "approximation, not on the label).",
        "2",
        "evidence",
    ),
    Rule(
        "DOSE-MAX",
        "At most 2 mg/kg/day (1.6 mg/kg/day for the micronized form).",
        "2",
        "label",
    ),
    Rule(
        "LAB-BASE",
        "Before the first dose: a fasting lipid panel (triglycerides, cholesterol) and liver tests "
        "(ALT, AST).",
        "3",
        "evidence",
        own_sources=LAB_SOURCES,
    ),
    Rule(
        "LAB-PEAK",
        "Lipids and liver tests again at peak dose, about 2 months in (a per-practice protocol); if normal, "
        "routine repeats are optional.",
        "3",
        "evidence",
        own_sources=LAB_SOURCES,
    ),
    Rule(
        "LAB-TG-HIGH",
        "Triglycerides at or above 500 mg/dL: consider a dose reduction; recheck in 2–4 weeks.",
        "3",
        "convention",
        own_sources=NO_AUTHORITY,
    ),
    Rule(
        "LAB-TG-CRIT",
        "Triglycerides at or above 800 mg/dL: hold the drug (pancreatitis risk).",
        "3",
        "convention",
        own_sources=NO_AUTHORITY,
    ),
    Rule(
        "LAB-LFT-HIGH",
        "ALT or AST above 3 times the upper limit of normal: hold or reduce; recheck in 2–4 weeks.",
        "3",
        "convention",
        own_sources=NO_AUTHORITY,
    ),
    Rule(
        "MOOD",
        "Ask about depression, mood and suicidal thoughts before treatment and at every visit; PHQ-2 of 3 or "
        "more: do a PHQ-9; PHQ-9 of 10 or more: clinically significant; PHQ-9 item 9 above 0 (thoughts of "
        "self-harm): urgent, the same day.",
        "3",
        "reference",
    ),
    Rule(
        "MED-TETRA",
        "Tetracyclines with isotretinoin: pseudotumor cerebri; contraindicated together.",
        "3",
        "reference",
    ),
    Rule("MED-VITA", "Vitamin A supplements add to isotretinoin's toxicity.", "3", "reference"),
    Rule(
        "MED-INDUCER",
        "Enzyme inducers (St John's wort, phenytoin...) can weaken hormonal contraception.",
        "3",
        "label",
        own_sources=("The label text and the iPLEDGE guide",),
    ),
    Rule(
        "ALERT-URGENCY",
        "The order of the alerts, most urgent first, and what each asks of whom.",
        "3",
        "convention",
    ),
)


def rule(rule_id: str) -> Rule | None:
    """The rule of ``rule_id``, None for an id the reference does not hold."""
    return RULES.get(rule_id)


# The sources behind each rule set's text (reference §1.1 and its chapter's "Sources:" line): the 2021
# documents; the 2026 modification's approval.
RULE_SET_SOURCES: dict[str, tuple[str, ...]] = {
    "us-ipledge-2021": IPLEDGE_SOURCES[:2],
    "us-ipledge-2026": (IPLEDGE_SOURCES[0], IPLEDGE_SOURCES[2]),
}
