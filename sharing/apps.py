from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = "Sharing"

    def ready(self) -> None:
        # galleries serves media but does not import sharing: sharing attaches the check that ends
        # a link's media URLs when the link closes.
        from galleries import media
        from sharing import access

        media.register_link_check(access.media_link_grant)
