"""The one write of the handouts: the practice's administrator replaces (or gives back to the built-in) the
text of some sections in one language. One transaction with its audit row: every section changed, its text
before and after ("" is the built-in text)."""

from __future__ import annotations

from django.utils import timezone

from isotrack.audit.events import EventCode
from isotrack.clinic.access import Capability, practice_id_of, require
from isotrack.clinic.actions.base import action, record_practice_event
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.inputs import BadInput, refuse_control_characters
from isotrack.clinic.models import Practice, StaffUser
from isotrack.handouts.models import MAX_TEXT, HandoutText
from isotrack.handouts.wording import BY_KEY, LANGUAGES


def clean_text(text: str) -> str:
    """The text as kept: its lines without trailing spaces, no blank lines at either end, line breaks as
    "\\n"."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n").strip()


@action
def change_handout_texts(*, actor: StaffUser, language: str, texts: dict[str, str]) -> list[str]:
    """Saves the practice's own texts of the sections given, in ``language`` (a blank text: the built-in
    one); returns the keys of the sections whose text changed. Refuses an unknown language or section, a
    text too long or holding control characters (InvalidInput, beside the section's field)."""
    require(actor, Capability.MANAGE_PRACTICE)
    if language not in LANGUAGES:
        raise InvalidInput(f"The handout is in {' or '.join(LANGUAGES)}, not {language!r}.")
    practice = Practice.objects.select_for_update().get(pk=practice_id_of(actor))
    stored = {
        row.section: row
        for row in HandoutText.objects.filter(practice=practice, language=language, section__in=list(texts))
    }
    before: dict[str, str] = {}
    after: dict[str, str] = {}
    for key, typed in texts.items():
        if key not in BY_KEY:
            raise InvalidInput(f"The handout has no section {key!r}.")
        text = clean_text(typed)
        try:
            refuse_control_characters(text, "This text")
        except BadInput as error:
            raise InvalidInput(f"{error.message}.", field=key) from None
        if len(text) > MAX_TEXT:
            raise InvalidInput(f"At most {MAX_TEXT} characters (this one has {len(text)}).", field=key)
        row = stored.get(key)
        old = row.text if row is not None else ""
        if text == old:
            continue
        before[f"{language}.{key}"], after[f"{language}.{key}"] = old, text
        if row is None:
            HandoutText.objects.create(
                practice=practice, language=language, section=key, text=text, changed_by=actor
            )
        else:
            row.text, row.changed_by, row.changed_at = text, actor, timezone.now()
            row.save(update_fields=["text", "changed_by", "changed_at"])
    if after:
        record_practice_event(
            actor=actor, action=EventCode.HANDOUT_TEXT_CHANGE, instance=practice, before=before, after=after
        )
    return [key.split(".", 1)[1] for key in after]
