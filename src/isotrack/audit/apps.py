from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "isotrack.audit"
    label = "audit"
    verbose_name = "Audit trail"
