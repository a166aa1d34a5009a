from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "isotrack.notify"
    label = "notify"
    verbose_name = "Calendar feeds and reminders"

    def ready(self) -> None:
        from isotrack.clinic.actions.staff import staff_deactivated
        from isotrack.notify.actions import revoke_feeds_of

        staff_deactivated.connect(revoke_feeds_of, dispatch_uid="revoke_feeds_of")
