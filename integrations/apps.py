from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """Webhooks and Idempotency-Key for integrators (issue 16): the top layer, nothing imports it."""

    name = "integrations"
    verbose_name = "Integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Lower apps announce their changes through config.events; the webhooks listen here.
        from config import events
        from integrations import services

        events.register(services.on_event)
