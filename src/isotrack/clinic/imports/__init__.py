"""Records that arrive as files, all or nothing, every record through its action (audited):

- ``courses``: a course file (``isotrack import-course``) becomes a stored course
- ``labs``: lab results from a FHIR Bundle or a CSV (``isotrack import-labs``, the API's lab upload)
"""
