from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "isotrack.api"
    label = "api"
    verbose_name = "JSON API, FHIR and CDS Hooks"

    def ready(self) -> None:
        from isotrack.api.tokens import revoke_tokens_of
        from isotrack.clinic.actions.staff import staff_deactivated

        staff_deactivated.connect(revoke_tokens_of, dispatch_uid="revoke_tokens_of")
