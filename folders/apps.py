from django.apps import AppConfig


class FoldersConfig(AppConfig):
    """Folders on the server in and out: `manage.py import` and `manage.py export`, through the upload services."""

    name = "folders"
    verbose_name = "Import and export"
