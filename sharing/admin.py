from __future__ import annotations

import csv
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.http import content_disposition_header

from accounts.permissions import is_photographer
from galleries.admin import thumbnail
from galleries.models import Gallery
from galleries.privacy import FieldRule
from sharing import services
from sharing.downloads import zip_response
from sharing.models import Selection, ShareLink


class ShareLinkForm(forms.ModelForm):
    new_password = forms.CharField(
        required=False, strip=False, widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Set or change; visitors who unlocked it must enter the new one.",
    )  # fmt: skip
    clear_password = forms.BooleanField(required=False, label="No password")
    revoked = forms.BooleanField(required=False, label="Switched off")

    class Meta:
        model = ShareLink
        fields = ["label", "expires_at", "allow_download", "allow_upload", "show_metadata", "selection_quota"]
        fields += ["upload_max_files", "upload_max_bytes"]  # the guest drop box's caps

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["revoked"].initial = bool(self.instance.pk and self.instance.revoked_at)
        for name in UPLOAD_CAPS:
            self.fields[name].required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in UPLOAD_CAPS:  # left empty: the link keeps its cap (a new one gets the default)
            if data.get(name) is None:
                data[name] = getattr(self.instance, name)
        return data


UPLOAD_CAPS = ("upload_max_files", "upload_max_bytes")  # the guest drop box's caps


class ShareLinkInline(admin.StackedInline):
    model = ShareLink
    form = ShareLinkForm
    extra = 0
    fields = (
        ("label", "share_url"),
        ("new_password", "clear_password", "password_state"),
        ("expires_at", "revoked", "state"),
        ("allow_download", "allow_upload", "show_metadata", "selection_quota"),
        ("upload_max_files", "upload_max_bytes"),
        ("view_count", "download_count", "last_viewed_at"),
    )
    readonly_fields = ("share_url", "password_state", "state", "view_count", "download_count", "last_viewed_at")
    verbose_name = "share link"

    class Media:
        js = ("js/admin-share.js",)  # the Copy buttons; on the gallery page only because this inline is

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_photographer(request.user)

    has_change_permission = has_delete_permission = has_add_permission = has_view_permission

    @admin.display(description="Address")
    def share_url(self, obj: ShareLink) -> str:
        if not obj.pk:
            return "Save to create the address."
        return format_html(
            '<input type="text" readonly value="{}" class="vTextField cs-share-url" size="60" '
            'aria-label="Share address"> '
            '<button type="button" class="button cs-copy" data-copy="{}">Copy</button>',
            obj.get_absolute_url(),
            obj.get_absolute_url(),
        )

    @admin.display(description="Password")
    def password_state(self, obj: ShareLink) -> str:
        return "Set" if obj.has_password else "None"

    @admin.display(description="State")
    def state(self, obj: ShareLink) -> str:
        return {"revoked": "Switched off", "expired": "Expired", "password": "Active (password)", "active": "Active"}[
            obj.state
        ]


def save_share_link_formset(request: HttpRequest, formset: Any) -> None:
    """Share links from the gallery page go through the sharing services like every other door."""
    deleted = [form.instance for form in formset.deleted_forms if form.instance.pk]
    # The admin's change message reads these, as if formset.save() had run.
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], deleted
    for form in formset.forms:
        if not form.has_changed() and form.instance.pk:
            continue
        if form in formset.deleted_forms or not form.cleaned_data:
            continue
        data = form.cleaned_data
        fields = {k: data.get(k) for k in ShareLinkForm.Meta.fields}
        password = None if data.get("clear_password") else (data.get("new_password") or None)
        if form.instance.pk is None:
            link = services.share_link_create(gallery=formset.instance, password=password, **fields)
            formset.new_objects.append(link)
        else:
            link = form.instance
            formset.changed_objects.append((link, form.changed_data))
            kwargs: dict[str, Any] = dict(fields)
            if data.get("clear_password") or data.get("new_password"):
                kwargs["password"] = password
            services.share_link_update(link=link, **kwargs)
        if data.get("revoked"):
            services.share_link_revoke(link=link)
        else:
            services.share_link_restore(link=link)
    for link in deleted:
        services.share_link_delete(link=link)


@admin.register(Selection)
class SelectionAdmin(admin.ModelAdmin):
    """Clients' favourites: who chose what, with thumbnails; export as file names or CSV."""

    list_display = ("name", "email", "gallery", "link", "photo_total", "submitted_at", "updated_at")
    list_filter = ("submitted_at",)
    search_fields = ("name", "email", "note", "link__label", "link__gallery__title")
    fields = ("name", "email", "link", "submitted_at", "note", "chosen")
    readonly_fields = ("name", "email", "link", "submitted_at", "note", "chosen")
    actions = ["export_filenames", "export_csv"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        galleries = Gallery.objects.editable_by(request.user)
        return (
            Selection.objects.filter(link__gallery__in=galleries)
            .select_related("link__gallery")
            .annotate(photo_total=Count("photos"))
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_photographer(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Selection | None = None) -> bool:
        return is_photographer(request.user) and (obj is None or self.get_queryset(request).filter(pk=obj.pk).exists())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Selection | None = None) -> bool:
        return self.has_view_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        for name in ("export_filenames", "export_csv"):
            actions[name] = self.get_action(name)
        return actions

    @admin.display(description="Gallery")
    def gallery(self, obj: Selection) -> str:
        return obj.link.gallery.title

    @admin.display(description="Photos", ordering="photo_total")
    def photo_total(self, obj: Selection) -> int:
        return obj.photo_total

    @admin.display(description="Chosen photos")
    def chosen(self, obj: Selection) -> str:
        photos = obj.photos.select_related("asset").prefetch_related("asset__variants").order_by("position")
        chosen = [(thumbnail(p.asset, size=96), p.original_filename or p.title or p.position + 1) for p in photos]
        return render_to_string("admin/sharing/chosen_photos.html", {"photos": chosen})

    def _rows(self, queryset: QuerySet):
        for selection in queryset.prefetch_related("photos"):
            for photo in sorted(selection.photos.all(), key=lambda p: p.position):
                yield selection, photo

    @admin.action(description="Export file names (one per line)")
    def export_filenames(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        names = [photo.original_filename or f"photo-{photo.position + 1}" for _, photo in self._rows(queryset)]
        response = HttpResponse("\n".join(names) + "\n", content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, "selection.txt")
        return response

    @admin.action(description="Export as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, "selection.csv")
        writer = csv.writer(response)
        writer.writerow(["gallery", "client", "email", "submitted_at", "position", "file_name", "title", "note"])
        for selection, photo in self._rows(queryset):
            writer.writerow(
                [
                    _csv_safe(selection.link.gallery.title),
                    _csv_safe(selection.name),
                    _csv_safe(selection.email),
                    selection.submitted_at.isoformat() if selection.submitted_at else "",
                    photo.position + 1,
                    _csv_safe(photo.original_filename),
                    _csv_safe(photo.title),
                    _csv_safe(selection.note),
                ]
            )
        return response


def _csv_safe(value: str) -> str:
    """No formula injection when the CSV is opened in a spreadsheet."""
    value = value or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@admin.action(description="Download the selected gallery as a ZIP")
def download_zip(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
    """The owner's download of a whole gallery (all photos, their file names)."""
    if queryset.count() != 1:
        modeladmin.message_user(request, "Choose one gallery to download.", messages.WARNING)
        return None
    return zip_response(queryset.get(), rule=FieldRule.for_owner())


def _register_on_gallery_admin() -> None:
    """Put share links and the ZIP download on the gallery's admin page (galleries knows nothing of sharing)."""
    gallery_admin = admin.site._registry[Gallery]
    if ShareLinkInline not in gallery_admin.inlines:
        gallery_admin.inlines = [*gallery_admin.inlines, ShareLinkInline]
        gallery_admin.formset_savers = {**gallery_admin.formset_savers, ShareLink: save_share_link_formset}
        gallery_admin.actions = [*gallery_admin.actions, download_zip]


_register_on_gallery_admin()
