from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    """The sweep that moves galleries through their lives: publish, warn, expire, purge, collect."""

    name = "lifecycle"
    verbose_name = "Lifecycle"
