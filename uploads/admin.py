from django.contrib import admin

from uploads.models import Upload


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    """Uploads in flight and their outcome, read-only, for superusers (support and debugging)."""

    list_display = ("filename", "owner", "gallery", "protocol", "status", "size", "error", "created_at", "expires_at")
    list_filter = ("status", "protocol")
    search_fields = ("filename", "sha256")
    readonly_fields = [f.name for f in Upload._meta.fields]

    def has_module_permission(self, request) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
