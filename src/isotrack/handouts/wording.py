"""Every word of the patient's handout, in English, marked for translation (the Spanish is in
``isotrack/locale/es``). Plain language, short sentences, second person; never a drug name, a result or a
contraception method. The advice is reference.md's: moisturizers, lip balm, artificial tears, sunscreen; the
common side effects (dry lips, skin and eyes, nosebleeds, joint and back pain, an early flare); no waxing,
ablative laser or dermabrasion during and 6 months after, no blood donation during and 30 days after
(reference.md 1.7), two methods of birth control until 30 days after the last dose (IPL-CON-2), the tests at
the end and 30 days after; what to tell the office at once (MOOD, MED-TETRA, MED-VITA).

The sections (``SECTIONS``) are what a practice may replace with its own text, per language; the rest (the
headings, the dates' words, the disclaimer) is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

LANGUAGES = ("en", "es")  # settings.LANGUAGES: the handout's languages
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Section:
    key: str
    title: Promise  # what the practice's page calls it (and, for the care sections, the handout's heading)
    default: Promise  # the built-in text, one point per line
    can_get_pregnant_only: bool = False  # shown only to patients who can get pregnant (IPL-CAT)


EXPECT_MONTH_1 = Section(
    "expect_month_1",
    _("What to expect: month 1"),
    _(
        "In the first weeks, your lips and skin start to get dry.\n"
        "Your acne may look worse for a few weeks before it gets better. This is common.\n"
        "Take your medicine every day, the way it was prescribed."
    ),
)
EXPECT_MONTH_2 = Section(
    "expect_month_2",
    _("What to expect: month 2"),
    _(
        "Dry lips and dry skin are often strongest now.\n"
        "You should see fewer new spots.\n"
        "A blood test for fats and liver health is often done around this time."
    ),
)
EXPECT_LATER = Section(
    "expect_later",
    _("What to expect: month 3 and later"),
    _(
        "Your skin keeps getting clearer, even if a few spots still come and go.\n"
        "Take every dose: finishing the whole treatment lowers the chance that your acne comes back.\n"
        "The dryness lasts until a few weeks after your last dose."
    ),
)
EXPECT_AFTER = Section(
    "expect_after",
    _("What to expect: after the treatment"),
    _(
        "Your treatment has ended.\n"
        "The dryness goes away within a few weeks. Your skin can keep getting better for months.\n"
        "Keep the dates on this page."
    ),
)
CARE_LIPS = Section(
    "care_lips",
    _("Dry lips"),
    _("Almost everyone gets dry lips. Put on lip balm many times a day and at bedtime."),
)
CARE_SKIN = Section(
    "care_skin",
    _("Dry skin"),
    _(
        "Use a gentle moisturizer with no perfume on your face and body twice a day. "
        "Wash with a mild cleanser and lukewarm water. Do not use scrubs."
    ),
)
CARE_EYES = Section(
    "care_eyes",
    _("Dry eyes"),
    _(
        "Use artificial tears (lubricating eye drops) when your eyes feel dry. "
        "Contact lenses may feel uncomfortable: wear glasses when you need to."
    ),
)
CARE_NOSE = Section(
    "care_nose",
    _("Nosebleeds"),
    _(
        "The inside of your nose can get dry and bleed. A little petroleum jelly inside each nostril "
        "and a humidifier at night can help."
    ),
)
CARE_JOINTS = Section(
    "care_joints",
    _("Joint and back pain"),
    _(
        "Your joints or back may ache, mostly after hard exercise. Go easier on hard sports. "
        "Tell us if the pain keeps you from your usual activities."
    ),
)
AVOID = Section(
    "avoid",
    _("Things to avoid"),
    _(
        "No waxing, laser skin treatments or dermabrasion during treatment and for 6 months after your "
        "last dose.\n"
        "Your skin burns more easily. Use sunscreen (SPF 30 or higher) every day, wear a hat, and do not use "
        "tanning beds.\n"
        "Do not give blood during treatment and for 30 days after your last dose.\n"
        "Do not breastfeed during treatment and for 30 days after your last dose.\n"
        "Never share your medicine with anyone.\n"
        "Do not take vitamin A supplements. Tell us before you start any new medicine, especially an "
        "antibiotic for acne."
    ),
)
PREGNANCY = Section(
    "pregnancy",
    _("Preventing pregnancy"),
    _(
        "Use your two methods of birth control every day, with no break, until 30 days after your last "
        "dose. If you chose abstinence, keep to it.\n"
        "You need a pregnancy test every month, one at the end of treatment, and one 30 days after your "
        "last dose.\n"
        "If you miss a period, have sex without birth control, or think you could be pregnant: stop taking "
        "your medicine and call us right away."
    ),
    can_get_pregnant_only=True,
)
WARNING_SIGNS = Section(
    "warning_signs",
    _("Call us right away if:"),
    _(
        "You have a bad headache that does not go away, blurred vision, or other changes in your sight.\n"
        "You have strong pain in your stomach.\n"
        "You feel very sad, anxious, or not like yourself.\n"
        "You have thoughts of hurting yourself. Also call or text 988 (Suicide & Crisis Lifeline) now, "
        "at any hour."
    ),
)
CONTACT = Section(
    "contact",
    _("Questions"),
    _("Questions? Call our office. Bring this sheet to your next visit."),
)

SECTIONS: tuple[Section, ...] = (
    EXPECT_MONTH_1,
    EXPECT_MONTH_2,
    EXPECT_LATER,
    EXPECT_AFTER,
    CARE_LIPS,
    CARE_SKIN,
    CARE_EYES,
    CARE_NOSE,
    CARE_JOINTS,
    PREGNANCY,
    AVOID,
    WARNING_SIGNS,
    CONTACT,
)
BY_KEY: dict[str, Section] = {section.key: section for section in SECTIONS}
CARE = (CARE_LIPS, CARE_SKIN, CARE_EYES, CARE_NOSE, CARE_JOINTS)


def expect_section(month: int | None) -> Section:
    """What to expect in the month of treatment the visit is about (None: dosing is over)."""
    if month is None:
        return EXPECT_AFTER
    return {1: EXPECT_MONTH_1, 2: EXPECT_MONTH_2}.get(month, EXPECT_LATER)


# A section's built-in text where its usual one would be wrong: month 1 before the first fill (there is no
# medicine yet to take every day), the time after treatment once no date is left to keep ("Keep the dates on
# this page" with none on it). The practice's own text of the section, if any, replaces these too.
EXPECT_MONTH_1_BEFORE_FIRST_FILL = _(
    "Your treatment starts on the day you pick up your medicine.\n"
    "From that day on, take it the way your doctor prescribed it.\n"
    "In the first weeks, your lips and skin start to get dry.\n"
    "Your acne may look worse for a few weeks before it gets better. This is common."
)
EXPECT_AFTER_NO_DATES_LEFT = _(
    "Your treatment has ended.\n"
    "The dryness goes away within a few weeks. Your skin can keep getting better for months."
)


def built_in_text(section: Section, *, before_first_fill: bool, dates_left: bool) -> Promise:
    """The built-in text of ``section`` for a course before its first fill or not, with dates left to keep
    or none."""
    if section is EXPECT_MONTH_1 and before_first_fill:
        return EXPECT_MONTH_1_BEFORE_FIRST_FILL
    if section is EXPECT_AFTER and not dates_left:
        return EXPECT_AFTER_NO_DATES_LEFT
    return section.default


# The fixed words of the sheet.
TITLE = _("Your treatment guide")
MONTH_OF_TREATMENT = _("Month %(month)s of your treatment")
AFTER_TREATMENT = _("After your treatment")
FOR_PATIENT = _("For %(name)s")
PRINTED_ON = _("Printed on %(date)s")
EXPECT_HEADING = _("What to expect this month")
EXPECT_AFTER_HEADING = _("What to expect now")
CARE_HEADING = _("Caring for common side effects")
DATES_HEADING = _("Dates to keep")
NO_DATES = _("No dates yet. We will give you your next dates at your visit.")
NO_DATES_LEFT = _("No more dates to keep for this course.")  # dosing is over and nothing remains
# After the warning signs, when the practice has given its phone number (Practice.phone).
CALL_THE_CLINIC = _("Call the clinic: %(phone)s")
AS_SOON_AS_POSSIBLE = _("As soon as possible (it was due %(date)s)")
DISCLAIMER = _(
    "This sheet supports, and does not replace, the advice of your doctor and care team. "
    "Always follow what they tell you."
)
# A date as a patient reads it: "Friday, December 4, 2026", "viernes, 4 de diciembre de 2026" (Django's date
# format characters; the names of days and months come from Django's own catalogs).
DATE_FORMAT = pgettext_lazy("the handout's dates (Django date format)", "l, F j, Y")

# On hold, or an alert that holds the drug open: no pick-up date, and this instead (no reason, no result).
PAUSED = _("Your doctor has asked you to pause your medicine for now: follow what they told you.")

# The dates to keep (clinic.dates_to_keep), each in the patient's words: what to do, then the date.
DATE_WORDS: dict[str, Promise] = {
    "CONFIRMATION_TEST_FROM": _("Your next pregnancy test, not before"),
    "PICK_UP_BY": _("Last day to pick up your prescription"),
    "NEXT_DISPENSE": _("Your next fill"),
    "PREGNANCY_TEST_MONTHLY": _("Last day for your monthly pregnancy test"),
    "LABS_PEAK_DOSE": _("Last day for your blood test (fats and liver)"),
    "PREGNANCY_TEST_END_OF_COURSE": _("Pregnancy test at the end of treatment"),
    "PREGNANCY_TEST_POST_COURSE": _("Pregnancy test 30 days after your last dose"),
    "CONTRACEPTION_UNTIL": _("Keep preventing pregnancy through"),
    "NO_BLOOD_DONATION_UNTIL": _("Do not give blood through"),
}
# The dates a patient who cannot get pregnant never sees (the engine lists none for them anyway).
PREGNANCY_DATES = frozenset(
    {
        "CONFIRMATION_TEST_FROM",
        "PREGNANCY_TEST_MONTHLY",
        "PREGNANCY_TEST_END_OF_COURSE",
        "PREGNANCY_TEST_POST_COURSE",
        "CONTRACEPTION_UNTIL",
    }
)
