from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from adminsortable2.admin import SortableAdminBase, SortableStackedInline
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import AdminSplitDateTime
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from accounts.permissions import ManagersReadOnlyAdmin, is_manager, is_photographer
from config.exceptions import ServiceError
from galleries import services, video
from galleries.forms import PhotoUploadForm
from galleries.media import media_url
from galleries.models import Asset, AssetStatus, Gallery, Photo, PurgeRecord, State


def thumbnail(asset: Asset, *, size: int = 64) -> dict[str, Any]:
    """What admin/galleries/thumbnail.html shows: the asset's smallest picture that is sharp at this size
    (the 80 px thumbnail up to 80 px, the 300 px small one above), or its status while there is none."""
    names = ("thumbnail", "small") if size <= 80 else ("small", "thumbnail")
    variant = asset.variant(names[0], "webp") or asset.variant(names[1], "webp")
    if variant is not None:
        url = media_url(variant.key)
    elif asset.browser_can_show_original:
        url = media_url(asset.original_key)
    else:
        url = ""
    return {"url": url, "size": size, "status": asset.get_status_display()}


def admin_size(size: int) -> str:
    """A file size for the workspace: "812 KB", "1.4 MB", "2.1 GB" (never "0.0 MB")."""
    if size >= 2**30:
        return f"{size / 2**30:.1f} GB"
    if size >= 2**20:
        return f"{size / 2**20:.1f} MB"
    if size >= 2**10:
        return f"{round(size / 2**10)} KB"
    return f"{size} bytes"


def thumbnail_html(asset: Asset | None, *, size: int = 64) -> str:
    """An <img> of the asset's smallest picture, or a status badge while there is none."""
    if asset is None:
        return "—"
    return render_to_string("admin/galleries/thumbnail.html", thumbnail(asset, size=size))


def variant_previews_html(asset: Asset) -> str:
    """Every variant of an asset, each linked to its file, with its size and format."""
    variants = [
        {"url": media_url(v.key), "name": v.name, "format": v.format, "width": v.width, "height": v.height,
         "kb": round(v.size / 1024, 1)}
        for v in sorted(asset.variants.all(), key=lambda v: (v.width, v.format))
    ]  # fmt: skip
    return render_to_string("admin/galleries/variant_previews.html", {"variants": variants})


def _reprocess(modeladmin: admin.ModelAdmin, request: HttpRequest, assets: list[Asset]) -> None:
    queued, busy = 0, 0
    for asset in assets:
        try:
            services.asset_reprocess(asset=asset)
            queued += 1
        except ServiceError:
            busy += 1
    if queued:
        modeladmin.message_user(
            request, f"Queued {queued} photo{'s' if queued != 1 else ''} for processing.", messages.SUCCESS
        )
    if busy:
        modeladmin.message_user(
            request, f"{busy} {'are' if busy != 1 else 'is'} being processed already.", messages.WARNING
        )


class PhotoCardForm(forms.ModelForm):
    """One photo's card on the gallery page: title and alt text edited in place."""

    class Meta:
        model = Photo
        fields = ("title", "alt", "is_approved", "position")
        labels = {"is_approved": "Shown"}
        widgets = {
            "title": forms.TextInput(attrs={"class": "cs-card-input", "maxlength": 200}),
            "alt": forms.TextInput(attrs={"class": "cs-card-input", "maxlength": 200}),
        }


class PhotoInline(SortableStackedInline):
    """The gallery's photos as a grid of cards, dragged into order (django-admin-sortable2's inline:
    each card's hidden position is renumbered on drop; GalleryAdmin.save_formset stores the order
    through services.photos_reorder in one transaction)."""

    model = Photo
    form = PhotoCardForm
    extra = 0
    fields = ("card", "title", "alt", "is_approved", "position")
    readonly_fields = ("card",)
    ordering = ("position", "created_at")
    template = "admin/galleries/gallery/photo_grid.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("asset").prefetch_related("asset__variants")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_photographer(request.user)

    has_change_permission = has_delete_permission = has_view_permission

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # photos come in through the upload screen

    @admin.display(description="Photo")
    def card(self, obj: Photo) -> str:
        """The picture (160 px, from the small variant) and its facts: file name, size, state."""
        asset = obj.asset
        return render_to_string(
            "admin/galleries/photo_card.html",
            {
                "thumb": thumbnail(asset, size=160),
                "name": obj.original_filename or obj.title or f"Photo {obj.position + 1}",
                "dimensions": f"{asset.width}×{asset.height}",
                "size": admin_size(asset.size),
                "status": asset.get_status_display(),
                "ready": asset.status == AssetStatus.READY,
                "error": asset.error,
                "contributor": obj.contributor,
                "approved": obj.is_approved,
                "video": asset.kind == "video",
            },
        )


class GalleryChangeList(ChangeList):
    """The galleries list, with the cover each gallery shows visitors: the chosen one, else the first
    ready photo (GalleryQuerySet.with_cover_id), loaded for the whole page in one query."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        ids = [g.cover_photo_id for g in self.result_list if getattr(g, "cover_photo_id", None)]
        covers = Photo.objects.filter(pk__in=ids).select_related("asset").prefetch_related("asset__variants")
        by_id = {photo.pk: photo for photo in covers}
        for gallery in self.result_list:
            gallery.shown_cover = by_id.get(getattr(gallery, "cover_photo_id", None))


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(state.value, state.label) for state in State]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        soon = now + timedelta(days=settings.GALLERY_EXPIRY_NOTICE_DAYS)
        value = self.value()
        if value == State.DRAFT:
            return queryset.draft()
        if value == State.PUBLISHED:
            return queryset.open().exclude(expires_at__lte=soon)
        if value == State.EXPIRING:
            return queryset.open().filter(expires_at__lte=soon)
        if value == State.EXPIRED:
            return queryset.expired()
        if value == State.TRASH:
            return queryset.trashed()
        return queryset


class GalleryForm(forms.ModelForm):
    """The dates go through the service's own check, so the admin refuses what the API refuses."""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        before = self.instance.expires_at if self.instance.pk else None
        try:
            services.check_dates(
                publish_at=data.get("publish_at"),
                expires_at=data.get("expires_at"),
                expiry_changed="expires_at" in self.changed_data and data.get("expires_at") != before,
            )
        except ServiceError as exc:
            field = "expires_at" if "past" in exc.message else "publish_at"
            self.add_error(field, exc.message)
        return data


EXTEND_CHOICES = (7, 30, 90)
# The grid's bulk actions (GalleryAdmin.photos_bulk_view), in the order the menu offers them.
BULK_ACTIONS = {
    "approve": "Show to visitors (approve)",
    "hide": "Hide from visitors",
    "cover": "Make the cover",
    "move": "Move to another gallery",
    "delete": "Delete",
}


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _position(form: Any) -> int:
    value = form.cleaned_data.get("position")
    return value if value is not None else form.initial.get("position", 0)


def label_split_datetime(field: Any) -> None:
    """Django's split date/time widget labels only its date input; name both for screen readers
    (axe: label). Used by every admin form with a date and time (galleries, share links)."""
    widget = getattr(field, "widget", None)
    if field is None or not isinstance(widget, AdminSplitDateTime):
        return
    label = str(field.label or "")
    widget.widgets[0].attrs["aria-label"] = f"{label}: date"
    widget.widgets[1].attrs["aria-label"] = f"{label}: time"


@admin.register(Gallery)
class GalleryAdmin(SortableAdminBase, admin.ModelAdmin):
    form = GalleryForm
    save_on_top = True  # also the form's default button: Enter in a photo's title saves, never a bulk action
    list_display = ("cover_thumb", "title", "owner", "visibility", "photos", "storage", "expires_at", "state")
    list_display_links = ("title",)  # the cover is a picture without words: no link of its own (axe: link-name)
    list_filter = (StateFilter, "visibility", "default_layout")
    search_fields = ("title", "slug", "description")
    readonly_fields = (
        "slug",
        "page_link",
        "state",
        "storage",
        "published_at",
        "created_at",
        "updated_at",
        "deleted_at",
    )
    inlines = [PhotoInline]
    # Other apps attach themselves here; galleries imports none of them:
    # - sharing adds its share-link inline, the inline's save function and the ZIP action (sharing/admin.py);
    # - uploads adds the uploader's status rows under <gallery>/upload/status/… (uploads/admin.py);
    # - sharing adds the selections: a list column (list_extras, queryset_annotations) and a panel on
    #   the change page (change_panels), with their pages under <gallery>/selections/….
    # - folders adds "Import from a server folder" and "Export" (change_tools), its imports panel, its
    #   pages under <gallery>/import/… and <gallery>/export/, and the Export action (folders/admin.py).
    formset_savers: dict = {}
    list_extras: tuple = ()  # more list_display columns
    queryset_annotations: dict = {}  # name -> expression, for those columns
    change_panels: list[Callable[[HttpRequest, Gallery], str]] = []  # HTML under the photos
    change_tools: list[Callable[[HttpRequest, Gallery], list[tuple[str, str]]]] = []  # (label, url) buttons on top
    # route under "<uuid:object_id>/" -> (view(request, object_id, **kwargs), URL name)
    gallery_pages: dict[str, tuple[Callable[..., HttpResponse], str]] = {}
    actions = ["trash_selected", "restore_selected", "extend_selected", "clear_expiry_selected"]
    change_form_template = "admin/galleries/gallery/change_form.html"
    list_per_page = 50

    def get_fields(self, request: HttpRequest, obj: Gallery | None = None) -> list[str]:
        fields = list(services.GALLERY_FIELDS)  # what the owner may change, as through the API
        if is_manager(request.user):
            fields.insert(0, "owner")
        if obj is not None:
            fields += [
                "slug",
                "page_link",
                "state",
                "storage",
                "published_at",
                "created_at",
                "updated_at",
                "deleted_at",
            ]
        return fields

    def get_form(self, request: HttpRequest, obj: Gallery | None = None, change: bool = False, **kwargs: Any):
        form = super().get_form(request, obj, change, **kwargs)
        if "cover" in form.base_fields:
            cover = form.base_fields["cover"]
            cover.queryset = obj.photos.all() if obj is not None else Photo.objects.none()
            cover.help_text = "Empty: the first ready photo (the one the galleries list shows)."
        if "owner" in form.base_fields:
            form.base_fields["owner"].initial = request.user.pk
        return form

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = Gallery.objects.editable_by(request.user).select_related("owner").with_cover_id()
        return qs.annotate(**self.queryset_annotations) if self.queryset_annotations else qs

    def get_list_display(self, request: HttpRequest) -> tuple:
        return (*self.list_display, *self.list_extras)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return GalleryChangeList

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        """The split date and time inputs each get a name of their own (the label names only the date)."""
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        label_split_datetime(field)
        return field

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None):
        gallery = (
            Gallery.objects.editable_by(request.user).filter(pk=object_id).first() if _is_uuid(object_id) else None
        )
        extra = dict(extra_context or {})
        if gallery is not None:
            extra["cs_panels"] = [panel(request, gallery) for panel in self.change_panels]
            extra["cs_tools"] = [tool for tools in self.change_tools for tool in tools(request, gallery)]
            extra["cs_move_targets"] = (
                Gallery.objects.editable_by(request.user).alive().exclude(pk=gallery.pk).only("pk", "title")
            )
            extra["cs_sort_keys"] = services.SORT_KEYS
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_photographer(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Gallery | None = None) -> bool:
        if not is_photographer(request.user):
            return False
        return obj is None or Gallery.objects.editable_by(request.user).filter(pk=obj.pk).exists()

    has_change_permission = has_delete_permission = has_view_permission

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_photographer(request.user)

    def save_model(self, request: HttpRequest, obj: Gallery, form: Any, change: bool) -> None:
        """The same services as the API: gallery_create, gallery_update (its field list, its cover check)."""
        data = form.cleaned_data
        owner = data.get("owner") if is_manager(request.user) and data.get("owner") else request.user
        # The form has already put its values on obj; only the service may write them.
        if not change:
            fields = {name: data[name] for name in services.GALLERY_FIELDS if name in data and name != "cover"}
            created = services.gallery_create(owner=owner, **fields)
            # The admin goes on with this very instance (its inlines hang on it): make it the saved row.
            obj.pk = created.pk
            obj.refresh_from_db()
            obj._state.adding = False
            return
        fields = {name: data[name] for name in form.changed_data if name in services.GALLERY_FIELDS}
        if "owner" in form.changed_data and is_manager(request.user):
            fields["owner"] = owner
        obj.refresh_from_db()
        services.gallery_update(gallery=obj, **fields)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        custom = self.formset_savers.get(formset.model)
        if custom is not None:
            custom(request, formset)
            return
        formset.save(commit=False)  # fills deleted_objects and changed_objects; writes nothing
        for photo in formset.deleted_objects:
            services.photo_delete(photo=photo)
        for photo, changed in formset.changed_objects:
            fields = {name: getattr(photo, name) for name in changed if name in ("title", "alt")}
            if fields:
                services.photo_update(photo=photo, **fields)
            if "is_approved" in changed:
                approve = services.photo_approve if photo.is_approved else services.photo_unapprove
                approve(photo=photo)
        # The order: the cards' positions as dragged (sortable2 numbers them 1, 2, 3…), ties kept in
        # the order they had; stored in one transaction, only when something moved.
        deleted = {photo.pk for photo in formset.deleted_objects}
        kept = [form for form in formset.initial_forms if form.instance.pk not in deleted and form.cleaned_data]
        before = sorted(kept, key=lambda f: (f.initial.get("position", 0), f.prefix))
        after = sorted(kept, key=lambda f: (_position(f), before.index(f)))
        if [f.instance.pk for f in after] != [f.instance.pk for f in before] or any(
            f.has_changed() and "position" in f.changed_data for f in kept
        ):
            services.photos_reorder(gallery=form.instance, photo_ids=[f.instance.pk for f in after])

    def delete_model(self, request: HttpRequest, obj: Gallery) -> None:
        services.gallery_destroy(gallery=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for gallery in queryset:
            services.gallery_destroy(gallery=gallery)

    @admin.display(description="Cover")
    def cover_thumb(self, obj: Gallery) -> str:
        """What visitors see as the cover: the chosen one, else the first ready photo (GalleryChangeList)."""
        cover = getattr(obj, "shown_cover", None)
        return thumbnail_html(cover.asset if cover else None, size=48)

    @admin.display(description="Photos", ordering="photo_total")
    def photos(self, obj: Gallery) -> str:
        """Every photo; those visitors do not see yet (awaiting approval, failed) in brackets."""
        hidden = obj.photo_total - obj.photo_count
        return f"{obj.photo_total} ({hidden} hidden)" if hidden else str(obj.photo_total)

    @admin.display(description="State")
    def state(self, obj: Gallery) -> str:
        """The state, with the date that matters next (release, expiry or purge)."""
        label = State(obj.state).label
        if obj.state == State.DRAFT:
            return format_html("{} <small>(visitors from {})</small>", label, date_format(obj.publish_at, "j M Y H:i"))
        if obj.state == State.EXPIRING:
            return format_html("{} <small>({})</small>", label, date_format(obj.expires_at, "j M Y"))
        if obj.purge_at is not None:
            return format_html("{} <small>(purged on {})</small>", label, date_format(obj.purge_at, "j M Y"))
        return label

    @admin.display(description="Storage", ordering="storage_bytes")
    def storage(self, obj: Gallery) -> str:
        return services.human_size(obj.storage_bytes)

    @admin.display(description="Page")
    def page_link(self, obj: Gallery) -> str:
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>', obj.get_absolute_url(), obj.get_absolute_url()
        )

    @admin.action(description="Move selected galleries to the trash")
    def trash_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for gallery in queryset:
            services.gallery_trash(gallery=gallery)
        self.message_user(request, f"Moved {queryset.count()} galleries to the trash.", messages.SUCCESS)

    @admin.action(description="Restore selected galleries from the trash")
    def restore_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for gallery in queryset:
            services.gallery_restore(gallery=gallery)
        self.message_user(request, f"Restored {queryset.count()} galleries.", messages.SUCCESS)

    @admin.action(description="Extend the expiry of selected galleries by 30 days")
    def extend_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        extended = 0
        for gallery in queryset.filter(expires_at__isnull=False):
            services.gallery_extend(gallery=gallery, days=30)
            extended += 1
        self.message_user(request, f"Extended {extended} galleries by 30 days.", messages.SUCCESS)

    @admin.action(description="Clear the expiry of selected galleries (never expire)")
    def clear_expiry_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for gallery in queryset:
            services.gallery_update(gallery=gallery, expires_at=None)
        self.message_user(request, f"{queryset.count()} galleries will not expire.", messages.SUCCESS)

    def _page_context(self, request: HttpRequest, gallery: Gallery | None, title: str, **extra: Any) -> dict:
        """What every page this admin adds (upload, extend, storage) gives its template."""
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": gallery,
            "title": title,
            **extra,
        }

    def extend_view(self, request: HttpRequest, object_id: Any) -> HttpResponse:
        """One click from the owner's mail: extend the expiry by 7, 30 or 90 days (and restore an
        expired gallery from the trash)."""
        gallery = get_object_or_404(Gallery.objects.editable_by(request.user), pk=object_id)
        if request.method == "POST":
            try:
                days = int(request.POST.get("days", ""))
            except ValueError:
                days = 0
            if days not in EXTEND_CHOICES:
                messages.error(request, "Choose 7, 30 or 90 days.")
                return HttpResponseRedirect(request.path)
            services.gallery_extend(gallery=gallery, days=days)
            messages.success(
                request, f"“{gallery.title}” is now available until {date_format(gallery.expires_at, 'j F Y')}."
            )
            return HttpResponseRedirect(reverse("admin:galleries_gallery_change", args=[gallery.pk]))
        context = self._page_context(request, gallery, f"Extend “{gallery.title}”", choices=EXTEND_CHOICES)
        return TemplateResponse(request, "admin/galleries/gallery/extend.html", context)

    def storage_view(self, request: HttpRequest) -> HttpResponse:
        """Storage per owner (from the galleries' kept counters) and the record of purges."""
        galleries = Gallery.objects.editable_by(request.user)
        owners = (
            galleries.order_by()
            .values("owner__username")
            .annotate(
                total=Sum("storage_bytes"),
                galleries=Count("pk"),
                trash=Sum("storage_bytes", filter=Q(deleted_at__isnull=False)),
            )
            .order_by("-total")
        )
        purges = PurgeRecord.objects.select_related("owner")
        if not is_manager(request.user):
            purges = purges.filter(owner=request.user)
        rows = [
            {
                "owner": row["owner__username"],
                "galleries": row["galleries"],
                "total": services.human_size(row["total"] or 0),
                "trash": services.human_size(row["trash"] or 0),
            }
            for row in owners
        ]
        context = self._page_context(request, None, "Storage and purges")
        context |= {"owners": rows, "purges": purges[:100]}
        return TemplateResponse(request, "admin/galleries/gallery/storage.html", context)

    def photos_bulk_view(self, request: HttpRequest, object_id: Any) -> HttpResponse:
        """The grid's bulk actions on the chosen photos: approve, hide, delete, move to another
        gallery, make the cover. Each is one service call, all or nothing."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        gallery = get_object_or_404(Gallery.objects.editable_by(request.user), pk=object_id)
        back = HttpResponseRedirect(reverse("admin:galleries_gallery_change", args=[gallery.pk]))
        action = request.POST.get("cs_action", "")
        if action not in BULK_ACTIONS:
            return HttpResponseBadRequest(f"Unknown action; choose one of: {', '.join(BULK_ACTIONS)}.")
        ids = request.POST.getlist("cs_photo")
        if not all(_is_uuid(pk) for pk in ids):
            return HttpResponseBadRequest("The chosen photos are not photo ids.")
        photos = list(gallery.photos.filter(pk__in=ids).order_by("position", "created_at", "id"))
        if not photos or len(photos) != len(set(ids)):
            messages.error(request, "Choose one or more photos of this gallery first.")
            return back
        n = len(photos)
        plural = "s" if n != 1 else ""
        try:
            if action == "approve":
                count = services.photos_approve(photos=photos)
                messages.success(request, f"{count} photo{'s' if count != 1 else ''} now shown to visitors.")
            elif action == "hide":
                with transaction.atomic():
                    count = sum(services.photo_unapprove(photo=photo) for photo in photos)
                messages.success(request, f"{count} photo{'s' if count != 1 else ''} hidden from visitors.")
            elif action == "delete":
                with transaction.atomic():
                    for photo in photos:
                        services.photo_delete(photo=photo)
                messages.success(request, f"Deleted {n} photo{plural}.")
            elif action == "cover":
                if n != 1:
                    messages.error(request, "Choose exactly one photo as the cover.")
                    return back
                services.gallery_update(gallery=gallery, cover=photos[0])
                messages.success(request, "Cover set.")
            elif action == "move":
                target_id = request.POST.get("cs_target", "")
                if not _is_uuid(target_id):
                    messages.error(request, "Choose the gallery to move the photos to.")
                    return back
                target = get_object_or_404(Gallery.objects.editable_by(request.user).alive(), pk=target_id)
                services.photos_move(photos=photos, to=target)
                messages.success(request, f"Moved {n} photo{plural} to “{target.title}”.")
        except ServiceError as exc:
            messages.error(request, exc.message)
        return back

    def photos_sort_view(self, request: HttpRequest, object_id: Any) -> HttpResponse:
        """Order the whole gallery by capture time, file name or upload time (services.photos_sort)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        gallery = get_object_or_404(Gallery.objects.editable_by(request.user), pk=object_id)
        key = request.POST.get("cs_sort", "")
        if key not in services.SORT_KEYS:
            return HttpResponseBadRequest(f"Sort by one of: {', '.join(services.SORT_KEYS)}.")
        moved = services.photos_sort(gallery=gallery, key=key)
        messages.success(
            request, f"Sorted by {services.SORT_KEYS[key]}: {moved} photo{'s' if moved != 1 else ''} moved."
        )
        return HttpResponseRedirect(reverse("admin:galleries_gallery_change", args=[gallery.pk]))

    def get_urls(self):
        return [
            path(
                "<uuid:object_id>/photos/bulk/",
                self.admin_site.admin_view(self.photos_bulk_view),
                name="galleries_gallery_photos_bulk",
            ),
            path(
                "<uuid:object_id>/photos/sort/",
                self.admin_site.admin_view(self.photos_sort_view),
                name="galleries_gallery_photos_sort",
            ),
            path("storage/", self.admin_site.admin_view(self.storage_view), name="galleries_gallery_storage"),
            path(
                "<uuid:object_id>/extend/",
                self.admin_site.admin_view(self.extend_view),
                name="galleries_gallery_extend",
            ),
            path(
                "<uuid:object_id>/upload/",
                self.admin_site.admin_view(self.upload_view),
                name="galleries_gallery_upload",
            ),
            *(
                path(f"<uuid:object_id>/{route}", self.admin_site.admin_view(view), name=name)
                for route, (view, name) in self.gallery_pages.items()
            ),
            *super().get_urls(),
        ]

    def upload_view(self, request: HttpRequest, object_id: Any) -> HttpResponse:
        """A plain multi-file upload form; each file is checked and added on its own."""
        gallery = get_object_or_404(Gallery.objects.editable_by(request.user), pk=object_id)
        form = PhotoUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            added = existing = 0
            for upload in form.cleaned_data["files"]:
                try:
                    _, created = services.photo_add(
                        gallery=gallery, file=upload, filename=upload.name, size=upload.size
                    )
                except ServiceError as exc:
                    messages.error(request, f"{services.clean_filename(upload.name)}: {exc.message}")
                    continue
                added += created
                existing += not created
            if added:
                messages.success(request, f"Added {added} photo{'s' if added != 1 else ''} to “{gallery.title}”.")
            if existing:
                messages.info(
                    request, f"{existing} file{'s were' if existing != 1 else ' was'} already in this gallery."
                )
            return HttpResponseRedirect(reverse("admin:galleries_gallery_change", args=[gallery.pk]))
        context = self._page_context(request, gallery, f"Upload photos to “{gallery.title}”")
        context |= {
            "form": form,
            "max_upload_mb": int(settings.MAX_UPLOAD_SIZE / 2**20),
            "max_size": max(settings.MAX_UPLOAD_SIZE, settings.MAX_VIDEO_SIZE if video.ffmpeg_available() else 0),
            "chunk_size": settings.UPLOAD_CHUNK_SIZE,
            "videos": video.ffmpeg_available(),
            "allowed_types": ",".join(
                ["image/*", ".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic", ".heif", ".avif"]
                + ([".mp4", ".mov", ".webm", "video/*"] if video.ffmpeg_available() else [])
            ),
        }
        return TemplateResponse(request, "admin/galleries/gallery/upload.html", context)


class StatusFilter(admin.SimpleListFilter):
    title = "processing"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(AssetStatus.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(asset__status=self.value()) if self.value() else queryset


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    """Every photo the user may edit, with its processing state; the place to find failures."""

    list_display = ("thumb", "__str__", "gallery", "status", "approval", "error", "dimensions", "created_at")
    list_filter = (StatusFilter, "is_approved")
    search_fields = ("title", "alt", "original_filename", "gallery__title")
    fields = ("gallery", "title", "alt", "position", "original_filename", "status", "error", "exif", "variant_previews")
    readonly_fields = ("gallery", "original_filename", "status", "error", "exif", "variant_previews")
    actions = ["reprocess_selected", "approve_selected"]
    list_select_related = ("gallery", "asset")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            Photo.objects.editable_by(request.user)
            .select_related("gallery", "asset")
            .prefetch_related("asset__variants")
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_photographer(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Photo | None = None) -> bool:
        if not is_photographer(request.user):
            return False
        return obj is None or Photo.objects.editable_by(request.user).filter(pk=obj.pk).exists()

    has_change_permission = has_delete_permission = has_view_permission

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Photo, form: Any, change: bool) -> None:
        services.photo_update(photo=obj, title=obj.title, alt=obj.alt, position=obj.position)

    def delete_model(self, request: HttpRequest, obj: Photo) -> None:
        services.photo_delete(photo=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for photo in queryset:
            services.photo_delete(photo=photo)

    @admin.display(description="Photo")
    def thumb(self, obj: Photo) -> str:
        return thumbnail_html(obj.asset, size=48)

    @admin.display(description="Processing", ordering="asset__status")
    def status(self, obj: Photo) -> str:
        return obj.asset.get_status_display()

    @admin.display(description="Error")
    def error(self, obj: Photo) -> str:
        return obj.asset.error or "—"

    @admin.display(description="EXIF")
    def exif(self, obj: Photo) -> str:
        exif = obj.asset.exif or {}
        return ", ".join(f"{k}: {v}" for k, v in exif.items()) or "—"

    @admin.display(description="Size")
    def dimensions(self, obj: Photo) -> str:
        return f"{obj.asset.width}×{obj.asset.height}, {admin_size(obj.asset.size)}"

    @admin.display(description="Variants")
    def variant_previews(self, obj: Photo) -> str:
        return variant_previews_html(obj.asset)

    @admin.display(description="Shown", boolean=False)
    def approval(self, obj: Photo) -> str:
        return "Yes" if obj.is_approved else f"Awaiting approval (from {obj.contributor or 'a guest'})"

    @admin.action(description="Approve the selected guest photos")
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = services.photos_approve(photos=list(queryset))
        self.message_user(request, f"Approved {count} photo{'s' if count != 1 else ''}.", messages.SUCCESS)

    @admin.action(description="Rebuild variants of the selected photos")
    def reprocess_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        _reprocess(self, request, list({photo.asset for photo in queryset.select_related("asset")}))


@admin.register(Asset)
class AssetAdmin(ManagersReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("thumb", "sha256", "kind", "mime", "width", "height", "size", "status", "error", "created_at")
    list_filter = ("status", "kind", "mime")
    search_fields = ("sha256",)
    readonly_fields = [f.name for f in Asset._meta.fields] + ["thumb", "variant_previews"]
    actions = ["reprocess_selected"]

    @admin.display(description="Variants")
    def variant_previews(self, obj: Asset) -> str:
        return variant_previews_html(obj)

    @admin.action(description="Rebuild variants of the selected assets")
    def reprocess_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        _reprocess(self, request, list(queryset))

    def get_actions(self, request: HttpRequest) -> dict:
        # Actions normally need the change permission; rebuilding is allowed to whoever sees assets.
        actions = super().get_actions(request)
        if self.has_module_permission(request):
            actions["reprocess_selected"] = self.get_action("reprocess_selected")
        return actions

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("variants")

    @admin.display(description="Preview")
    def thumb(self, obj: Asset) -> str:
        return thumbnail_html(obj)
