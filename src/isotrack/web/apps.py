from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "isotrack.web"
    label = "web"
    verbose_name = "Web pages"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from isotrack.web.middleware import session_started, two_factor_gate

        user_logged_in.connect(session_started, dispatch_uid="isotrack_session_started")
        user_logged_in.connect(two_factor_gate, dispatch_uid="isotrack_two_factor_gate")
