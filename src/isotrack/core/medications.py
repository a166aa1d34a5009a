"""The patient's other medicines: which class of the course file's ``medications`` each one belongs to (spec
"Course file", ``medications[].class``; reference.md section 3, MED-TETRA, MED-VITA, MED-INDUCER).

The course file carries the class; this is the program's table for proposing it from what a page, an import or
a FHIR MedicationStatement knows: a name (generic or brand, any case) or an RxNorm ingredient code.
``medication_class(name, rxnorm)`` gives the class, ``other`` for a medicine the table does not hold.

Each medicine has its source:
- ``SPEC``: named in the spec's list of the class (course-evaluation.md, ``medications``);
- ``REFERENCE_*``: named in reference.md (section 1.6 for St John's wort and phenytoin, MED-INDUCER; section 3
  for the tetracyclines, MED-TETRA, and vitamin A supplements, MED-VITA);
- ``LABEL_*``: the drug's own US prescribing information (a tetracycline-class product whose label carries the
  class's warnings; an inducer whose label says it makes hormonal contraception less effective), within the
  spec's "and the like".

Decisions where the spec is silent: a topical tetracycline (minocycline foam) is left out, the interaction
being that of a systemic drug; a multivitamin is ``other`` (spec: vitamin A "above a multivitamin's dose");
names are matched whole, after folding case, spaces, and typographic apostrophes and periods, so a name with a
strength ("doxycycline 100 mg") is ``other`` until someone picks the class. RxNorm codes are given only where
they were checked against a published list (see ``Medicine.rxnorm``); a name alone still finds the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias, get_args

MedicationClass: TypeAlias = Literal["tetracycline", "vitamin_a", "enzyme_inducer", "other"]
MEDICATION_CLASSES: tuple[MedicationClass, ...] = get_args(MedicationClass)
OTHER: MedicationClass = "other"

SPEC = "course-evaluation.md, medications[].class"
REFERENCE_TETRA = "reference.md MED-TETRA (tetracyclines: pseudotumor cerebri)"
REFERENCE_VITA = "reference.md MED-VITA (vitamin A supplements: additive toxicity)"
REFERENCE_INDUCER = "reference.md 1.6 and MED-INDUCER (label text and iPLEDGE guide)"
LABEL_TETRA = "the drug's US label: a tetracycline-class antibacterial, with the class's warnings"
LABEL_INDUCER = "the drug's US label: makes hormonal contraceptives less effective"


@dataclass(frozen=True, slots=True)
class Medicine:
    """One medicine of the table: its generic name, the other names it goes by (brands, salts, spellings),
    all lower-case, its class and where that comes from. ``rxnorm`` is its RxNorm ingredient (TTY IN) code,
    given only where checked against a published list: CPIC's drug table (carbamazepine, efavirenz,
    modafinil, nevirapine, oxcarbazepine, phenytoin), an OMOP code set (topiramate), and two or more
    independent drug lists each (doxycycline, tetracycline, rifampin, phenobarbital)."""

    generic: str
    medication_class: MedicationClass
    source: str
    names: tuple[str, ...] = ()
    rxnorm: str | None = None


MEDICINES: tuple[Medicine, ...] = (
    # --- tetracycline (MED-TETRA) ---
    Medicine(
        "doxycycline",
        "tetracycline",
        SPEC,
        (
            "doxycycline hyclate",
            "doxycycline monohydrate",
            "vibramycin",
            "vibra-tabs",
            "doryx",
            "doryx mpc",
            "acticlate",
            "targadox",
            "oracea",
            "monodox",
            "adoxa",
            "periostat",
            "avidoxy",
            "lymepak",
        ),
        rxnorm="3640",
    ),
    Medicine(
        "minocycline",
        "tetracycline",
        SPEC,
        ("minocycline hydrochloride", "minocin", "solodyn", "minolira", "ximino", "dynacin", "coremino"),
    ),
    Medicine(
        "tetracycline",
        "tetracycline",
        SPEC,
        ("tetracycline hydrochloride", "sumycin", "achromycin", "achromycin v"),
        rxnorm="10395",
    ),
    Medicine("sarecycline", "tetracycline", SPEC, ("sarecycline hydrochloride", "seysara")),
    Medicine("omadacycline", "tetracycline", SPEC, ("omadacycline tosylate", "nuzyra")),
    Medicine(
        "demeclocycline", "tetracycline", REFERENCE_TETRA, ("demeclocycline hydrochloride", "declomycin")
    ),
    Medicine("eravacycline", "tetracycline", LABEL_TETRA, ("xerava",)),
    Medicine("tigecycline", "tetracycline", LABEL_TETRA, ("tygacil",)),
    # --- vitamin A (MED-VITA) ---
    Medicine(
        "vitamin a",
        "vitamin_a",
        SPEC,
        ("vitamin a supplement", "retinol", "retinyl palmitate", "retinyl acetate", "aquasol a"),
    ),
    # --- enzyme inducers (MED-INDUCER) ---
    Medicine(
        "st john's wort",
        "enzyme_inducer",
        REFERENCE_INDUCER,
        ("saint john's wort", "st johns wort", "hypericum", "hypericum perforatum"),
    ),
    Medicine("phenytoin", "enzyme_inducer", REFERENCE_INDUCER, ("dilantin", "phenytek"), rxnorm="8183"),
    Medicine("fosphenytoin", "enzyme_inducer", LABEL_INDUCER, ("cerebyx", "sesquient")),
    Medicine(
        "carbamazepine",
        "enzyme_inducer",
        SPEC,
        ("tegretol", "tegretol xr", "carbatrol", "epitol", "equetro"),
        rxnorm="2002",
    ),
    Medicine("oxcarbazepine", "enzyme_inducer", LABEL_INDUCER, ("trileptal", "oxtellar xr"), rxnorm="32624"),
    Medicine("eslicarbazepine", "enzyme_inducer", LABEL_INDUCER, ("eslicarbazepine acetate", "aptiom")),
    Medicine("phenobarbital", "enzyme_inducer", SPEC, ("phenobarbitone", "luminal", "sezaby"), rxnorm="8134"),
    Medicine("primidone", "enzyme_inducer", LABEL_INDUCER, ("mysoline",)),
    Medicine("felbamate", "enzyme_inducer", LABEL_INDUCER, ("felbatol",)),
    Medicine(
        "topiramate",
        "enzyme_inducer",
        SPEC,
        ("topamax", "trokendi xr", "qudexy xr", "eprontia"),
        rxnorm="38404",
    ),
    Medicine("rifampin", "enzyme_inducer", SPEC, ("rifampicin", "rifadin", "rimactane"), rxnorm="9384"),
    Medicine("rifabutin", "enzyme_inducer", SPEC, ("mycobutin",)),
    Medicine("rifapentine", "enzyme_inducer", LABEL_INDUCER, ("priftin",)),
    Medicine("modafinil", "enzyme_inducer", SPEC, ("provigil",), rxnorm="30125"),
    Medicine("armodafinil", "enzyme_inducer", LABEL_INDUCER, ("nuvigil",)),
    Medicine("efavirenz", "enzyme_inducer", LABEL_INDUCER, ("sustiva",), rxnorm="195085"),
    Medicine("nevirapine", "enzyme_inducer", LABEL_INDUCER, ("viramune", "viramune xr"), rxnorm="53654"),
    Medicine("griseofulvin", "enzyme_inducer", LABEL_INDUCER, ("gris-peg", "grifulvin v")),
    Medicine("bosentan", "enzyme_inducer", LABEL_INDUCER, ("tracleer",)),
)

BY_NAME: dict[str, Medicine] = {name: m for m in MEDICINES for name in (m.generic, *m.names)}
BY_RXNORM: dict[str, Medicine] = {m.rxnorm: m for m in MEDICINES if m.rxnorm is not None}


def folded(name: str) -> str:
    """A name as the table holds it: lower-case, single spaces, straight apostrophes, no periods ("St.
    John’s Wort" is "st john's wort")."""
    text = name.lower().replace("\u2019", "'").replace("\u2018", "'").replace(".", " ")
    return " ".join(text.split())


def medicine(name: str | None = None, rxnorm: str | None = None) -> Medicine | None:
    """The table's medicine of an RxNorm ingredient code, else of a name; None when it holds neither."""
    if rxnorm is not None:
        found = BY_RXNORM.get(rxnorm.strip())
        if found is not None:
            return found
    if name is not None:
        return BY_NAME.get(folded(name))
    return None


def medication_class(name: str | None = None, rxnorm: str | None = None) -> MedicationClass:
    """The class of a medicine by its RxNorm ingredient code or its name (the code first); ``other`` for one
    the table does not hold."""
    found = medicine(name, rxnorm)
    return found.medication_class if found is not None else OTHER
