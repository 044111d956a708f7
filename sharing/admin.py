from __future__ import annotations

import csv
import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import content_disposition_header

from accounts.permissions import is_photographer
from galleries.admin import label_split_datetime, thumbnail
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
        fields += ["download_sizes"]  # which sizes visitors may download (issue 13)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["revoked"].initial = bool(self.instance.pk and self.instance.revoked_at)
        for name in (*UPLOAD_CAPS, "download_sizes"):
            self.fields[name].required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in (*UPLOAD_CAPS, "download_sizes"):  # left empty: the link keeps its value (a new one: the default)
            if data.get(name) in (None, ""):
                data[name] = getattr(self.instance, name)
        return data


UPLOAD_CAPS = ("upload_max_files", "upload_max_bytes")  # the guest drop box's caps


class ShareLinkInline(admin.StackedInline):
    model = ShareLink
    form = ShareLinkForm
    extra = 0
    # One permission a line: side by side, their help texts ran together (issue 13).
    fields = (
        "label",
        "share_url",
        ("new_password", "clear_password", "password_state"),
        ("expires_at", "revoked", "state"),
        "allow_download",
        "download_sizes",
        "allow_upload",
        "show_metadata",
        "selection_quota",
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

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        label_split_datetime(field)
        return field

    @admin.display(description="Address")
    def share_url(self, obj: ShareLink) -> str:
        # An unsaved link already has a pk and a token (their defaults), but saving makes a new
        # token (share_link_create): only a saved link has an address to copy.
        if obj is None or obj._state.adding:
            return "The address appears here once the link is saved."
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


class SelectionGalleryFilter(admin.SimpleListFilter):
    """Selections of one gallery (the gallery list links here); only galleries this user may edit."""

    title = "gallery"
    parameter_name = "gallery"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        galleries = Gallery.objects.editable_by(request.user).filter(share_links__selections__isnull=False)
        return [(str(pk), title) for pk, title in galleries.distinct().values_list("pk", "title")[:200]]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        try:
            return queryset.filter(link__gallery_id=uuid.UUID(value))
        except ValueError:
            return queryset.none()


@admin.register(Selection)
class SelectionAdmin(admin.ModelAdmin):
    """Clients' favourites: who chose what, with thumbnails; export as file names, CSV or a list for
    Lightroom; reopen a sent selection for its client."""

    list_display = ("name", "email", "gallery", "link", "photo_total", "submitted_at", "updated_at", "grid_link")
    list_filter = (SelectionGalleryFilter, "submitted_at")
    search_fields = ("name", "email", "note", "link__label", "link__gallery__title")
    fields = ("name", "email", "link", "submitted_at", "note", "chosen")
    readonly_fields = ("name", "email", "link", "submitted_at", "note", "chosen")
    actions = ["export_filenames", "export_csv", "export_lightroom", "reopen_selected"]

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
        for name in ("export_filenames", "export_csv", "export_lightroom", "reopen_selected"):
            actions[name] = self.get_action(name)
        return actions

    @admin.display(description="Photos as a grid")
    def grid_link(self, obj: Selection) -> str:
        url = reverse("admin:galleries_gallery_selection", args=[obj.link.gallery_id, obj.pk])
        return format_html('<a href="{}">Open</a>', url)

    @admin.display(description="Gallery")
    def gallery(self, obj: Selection) -> str:
        return obj.link.gallery.title

    @admin.display(description="Photos", ordering="photo_total")
    def photo_total(self, obj: Selection) -> int:
        return obj.photo_total

    @admin.display(description="Chosen photos")
    def chosen(self, obj: Selection) -> str:
        photos = obj.photos.select_related("asset").prefetch_related("asset__variants").order_by("position")
        notes = dict(obj.photo_notes.values_list("photo_id", "text"))  # the client's note per photo (issue 13)
        chosen = [
            (thumbnail(p.asset, size=96), p.original_filename or p.title or p.position + 1, notes.get(p.pk, ""))
            for p in photos
        ]
        return render_to_string("admin/sharing/chosen_photos.html", {"photos": chosen})

    @admin.action(description="Export file names (one per line)")
    def export_filenames(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        return export_response(queryset, "txt")

    @admin.action(description="Export as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        return export_response(queryset, "csv")

    @admin.action(description="Export for Lightroom (file names for the library filter)")
    def export_lightroom(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        return export_response(queryset, "lightroom")

    @admin.action(description="Reopen the selected selections for their clients")
    def reopen_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        reopened = 0
        for selection in queryset.filter(submitted_at__isnull=False):
            services.selection_reopen(selection=selection)
            reopened += 1
        self.message_user(
            request, f"Reopened {reopened} selection{'s' if reopened != 1 else ''} for the client.", messages.SUCCESS
        )


def _rows(queryset: QuerySet):
    """(selection, photo) in the gallery's order, for the exports."""
    for selection in queryset.select_related("link__gallery").prefetch_related("photos"):
        for photo in sorted(selection.photos.all(), key=lambda p: (p.position, p.created_at)):
            yield selection, photo


def _file_name(photo: Any) -> str:
    return photo.original_filename or f"photo-{photo.position + 1}"


EXPORTS = {"txt": "File names", "csv": "CSV", "lightroom": "Lightroom"}


def export_response(queryset: QuerySet, fmt: str) -> HttpResponse:
    """A selection's photos as a download: file names one per line (txt), a CSV, or one line of
    base names joined by commas (lightroom), which pasted into Lightroom Classic's Library filter
    (Text, Filename, Contains) shows exactly the chosen photos, whatever their exported extension."""
    if fmt == "txt":
        names = [_file_name(photo) for _, photo in _rows(queryset)]
        response = HttpResponse("\n".join(names) + "\n", content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, "selection.txt")
        return response
    if fmt == "lightroom":
        bases = dict.fromkeys(_file_name(photo).rsplit(".", 1)[0] for _, photo in _rows(queryset))
        response = HttpResponse(",".join(bases) + "\n", content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, "selection-lightroom.txt")
        return response
    if fmt != "csv":
        raise Http404("No such export.")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, "selection.csv")
    writer = csv.writer(response)
    writer.writerow(["gallery", "client", "email", "submitted_at", "position", "file_name", "title", "note"])
    for selection, photo in _rows(queryset):
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


# --- Selections on the gallery's pages -----------------------------------------------------------


def _gallery_selections(gallery: Gallery) -> QuerySet:
    return (
        Selection.objects.filter(link__gallery=gallery)
        .select_related("link")
        .annotate(photo_total=Count("photos"))
        .order_by("-submitted_at", "-updated_at")
    )


def _selection_of(request: HttpRequest, object_id: Any, selection_id: Any) -> tuple[Gallery, Selection]:
    """The gallery (this user's) and one of its selections, else 404."""
    gallery = get_object_or_404(Gallery.objects.editable_by(request.user), pk=object_id)
    return gallery, get_object_or_404(_gallery_selections(gallery), pk=selection_id)


def selections_panel(request: HttpRequest, gallery: Gallery) -> str:
    """The gallery page's list of client selections: who, how many, sent or not; open, export, reopen."""
    rows = [
        {
            "selection": selection,
            "grid": reverse("admin:galleries_gallery_selection", args=[gallery.pk, selection.pk]),
            "exports": [
                (label, reverse("admin:galleries_gallery_selection_export", args=[gallery.pk, selection.pk, fmt]))
                for fmt, label in EXPORTS.items()
            ],
            "reopen": reverse("admin:galleries_gallery_selection_reopen", args=[gallery.pk, selection.pk]),
        }
        for selection in _gallery_selections(gallery)
    ]
    return render_to_string("admin/sharing/selections_panel.html", {"rows": rows, "gallery": gallery}, request=request)


def selection_grid_view(request: HttpRequest, object_id: Any, selection_id: Any) -> HttpResponse:
    """One selection as a grid of its photos (160 px), with its exports and the reopen button."""
    gallery, selection = _selection_of(request, object_id, selection_id)
    photos = selection.photos.select_related("asset").prefetch_related("asset__variants").order_by("position")
    notes = dict(selection.photo_notes.values_list("photo_id", "text"))  # the client's note per photo
    cards = [
        {"thumb": thumbnail(p.asset, size=160), "name": _file_name(p), "title": p.title, "note": notes.get(p.pk, "")}
        for p in photos
    ]
    gallery_admin = admin.site._registry[Gallery]
    context = {
        **admin.site.each_context(request),
        "opts": Gallery._meta,
        "original": gallery,
        "title": f"{selection.name}’s selection",
        "subtitle": gallery.title,
        "selection": selection,
        "cards": cards,
        "exports": [
            (label, reverse("admin:galleries_gallery_selection_export", args=[gallery.pk, selection.pk, fmt]))
            for fmt, label in EXPORTS.items()
        ],
        "reopen": reverse("admin:galleries_gallery_selection_reopen", args=[gallery.pk, selection.pk]),
        "has_view_permission": gallery_admin.has_view_permission(request, gallery),
    }
    return TemplateResponse(request, "admin/sharing/selection_grid.html", context)


def selection_export_view(request: HttpRequest, object_id: Any, selection_id: Any, fmt: str) -> HttpResponse:
    _, selection = _selection_of(request, object_id, selection_id)
    if fmt not in EXPORTS:
        raise Http404("No such export.")
    return export_response(Selection.objects.filter(pk=selection.pk), fmt)


def selection_reopen_view(request: HttpRequest, object_id: Any, selection_id: Any) -> HttpResponse:
    """POST: the client may change the selection and send it again (sharing.services.selection_reopen)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    gallery, selection = _selection_of(request, object_id, selection_id)
    if selection.submitted_at is None:
        messages.info(request, f"{selection.name}’s selection is open already.")
    else:
        services.selection_reopen(selection=selection)
        messages.success(request, f"{selection.name} can change the selection and send it again.")
    back = request.POST.get("next", "")
    if back != "grid":
        return HttpResponseRedirect(reverse("admin:galleries_gallery_change", args=[gallery.pk]))
    return HttpResponseRedirect(reverse("admin:galleries_gallery_selection", args=[gallery.pk, selection.pk]))


def _selection_counts() -> dict[str, Any]:
    """Per gallery, in the list's one query: its selections, and how many were sent."""
    per_gallery = Selection.objects.filter(link__gallery=OuterRef("pk")).order_by().values("link__gallery")
    return {
        "selection_total": Subquery(per_gallery.annotate(n=Count("pk")).values("n")[:1]),
        "selection_sent": Subquery(
            per_gallery.annotate(n=Count("pk", filter=Q(submitted_at__isnull=False))).values("n")[:1]
        ),
    }


@admin.display(description="Selections")
def gallery_selections(obj: Gallery) -> str:
    """The list's column: how many client selections, how many sent, linked to them."""
    total = getattr(obj, "selection_total", None) or 0
    if not total:
        return "—"
    sent = getattr(obj, "selection_sent", None) or 0
    url = reverse("admin:sharing_selection_changelist") + f"?gallery={obj.pk}"
    return format_html('<a href="{}">{} ({} sent)</a>', url, total, sent)


def _register_on_gallery_admin() -> None:
    """Put share links, selections and the ZIP download on the gallery's admin pages (galleries knows
    nothing of sharing)."""
    gallery_admin = admin.site._registry[Gallery]
    if ShareLinkInline not in gallery_admin.inlines:
        gallery_admin.inlines = [*gallery_admin.inlines, ShareLinkInline]
        gallery_admin.formset_savers = {**gallery_admin.formset_savers, ShareLink: save_share_link_formset}
        gallery_admin.actions = [*gallery_admin.actions, download_zip]
        gallery_admin.list_extras = (*gallery_admin.list_extras, gallery_selections)
        gallery_admin.queryset_annotations = {**gallery_admin.queryset_annotations, **_selection_counts()}
        gallery_admin.change_panels = [*gallery_admin.change_panels, selections_panel]
        gallery_admin.gallery_pages = {
            **gallery_admin.gallery_pages,
            "selections/<uuid:selection_id>/": (selection_grid_view, "galleries_gallery_selection"),
            "selections/<uuid:selection_id>/export/<str:fmt>/": (
                selection_export_view,
                "galleries_gallery_selection_export",
            ),
            "selections/<uuid:selection_id>/reopen/": (selection_reopen_view, "galleries_gallery_selection_reopen"),
        }


_register_on_gallery_admin()
