from django.apps import AppConfig


class GalleriesConfig(AppConfig):
    name = "galleries"
    verbose_name = "Galleries"

    def ready(self) -> None:
        from galleries import imaging

        imaging.register_openers()
        from django.conf import settings
        from PIL import Image

        # Pillow's own bomb check uses the same limit as ours (it errors at twice this).
        Image.MAX_IMAGE_PIXELS = settings.MAX_IMAGE_PIXELS

        from django.db.models.signals import post_migrate

        post_migrate.connect(_apply_schedules, sender=self)


def _apply_schedules(**kwargs) -> None:
    from config.schedules import apply_schedules

    apply_schedules()
