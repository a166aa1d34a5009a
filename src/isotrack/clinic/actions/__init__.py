"""Every write to the clinic's records, one module per kind of object.

Each action takes the acting user as the keyword `actor`, checks the actor's practice and role, validates, and
does the whole change in one transaction together with its audit row (who, when, what, before and after; the
codes are ``audit.events.EventCode``). Pages, the API, the command line, the imports and the demo generator
all write through these functions and nothing else; import each from the module that defines it:

- ``base``: what every action shares (the transaction, the audit row, the practice and role checks)
- ``patients``: registration, the iPLEDGE category, contact details, weights, contraception
- ``courses``: a course's start, activation at the first pick-up, its end
- ``dosing``: dose changes, holds, missed doses
- ``observations``: pregnancy tests, lab results, mood screens, side effects
- ``ipledge``: the iPLEDGE steps and the pick-ups
- ``alerts``: acknowledging an alert, the follow-up of a positive pregnancy test
- ``visits``: a visit, and the monthly visit on one screen
- ``enrollment``: enrolling a patient in a course, all or nothing
- ``corrections``: correcting or voiding any kind of record
- ``practices``: a new practice and its first administrator
- ``staff``: inviting staff, their role, deactivating and reactivating them
"""
