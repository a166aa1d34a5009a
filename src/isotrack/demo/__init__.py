"""The demo practices, for development: a deterministic synthetic practice in every situation a clinic meets.

- ``generator``: ``build_demo`` writes the practices, staff and patients through the clinic's actions
- ``management/commands/demo.py``: ``isotrack demo``, which ``make run`` calls

Installed only with DEBUG on (and in the tests): a production start has no demo command and no demo logins.
"""
