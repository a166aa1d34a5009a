"""The patient's one-page handout of a visit, in English or Spanish: what to expect this month, caring for
the common side effects, the dates to keep, what to avoid, when to call. Its texts are built in (translated
through Django's catalogs, ``isotrack/locale``) and each can be replaced by the practice's own, per language
(``HandoutText``, edited by the practice's administrator: ``actions.change_handout_texts``, audited)."""
