from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from accounts.permissions import ManagersReadOnlyAdmin, is_manager, is_photographer
from config.exceptions import ServiceError
from galleries import services, video
from galleries.forms import PhotoUploadForm
from galleries.media import media_url
from galleries.models import Asset, AssetStatus, Gallery, Photo, PurgeRecord, State


def thumbnail(asset: Asset, *, size: int = 64) -> dict[str, Any]:
    """What admin/galleries/thumbnail.html shows: the asset's smallest picture, or its status while there is none."""
    variant = asset.variant("thumbnail", "webp") or asset.variant("small", "webp")
    if variant is not None:
        url = media_url(variant.key)
    elif asset.browser_can_show_original:
        url = media_url(asset.original_key)
    else:
        url = ""
    return {"url": url, "size": size, "status": asset.get_status_display()}


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


class PhotoInline(admin.TabularInline):
    model = Photo
    extra = 0
    fields = ("drag", "thumb", "title", "alt", "position", "is_approved", "status", "original_filename", "dimensions")
    readonly_fields = ("drag", "thumb", "status", "original_filename", "dimensions")
    ordering = ("position", "created_at")
    classes = ("cs-sortable",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("asset").prefetch_related("asset__variants")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_photographer(request.user)

    has_change_permission = has_delete_permission = has_view_permission

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # photos come in through the upload screen

    @admin.display(description="")
    def drag(self, obj: Photo) -> str:
        return mark_safe('<span class="cs-drag" title="Drag to reorder" aria-hidden="true">⠿</span>')

    @admin.display(description="Photo")
    def thumb(self, obj: Photo) -> str:
        return thumbnail_html(obj.asset)

    @admin.display(description="Processing")
    def status(self, obj: Photo) -> str:
        asset = obj.asset
        if asset.error:
            return format_html(
                '{} <small title="{}">({})</small>', asset.get_status_display(), asset.error, asset.error[:80]
            )
        return asset.get_status_display()

    @admin.display(description="Size")
    def dimensions(self, obj: Photo) -> str:
        asset = obj.asset
        sender = f" · from {obj.contributor}" if obj.contributor else ""
        return f"{asset.width}×{asset.height}, {asset.size / 2**20:.1f} MB{sender}"


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


@admin.register(Gallery)
class GalleryAdmin(admin.ModelAdmin):
    form = GalleryForm
    list_display = ("cover_thumb", "title", "owner", "visibility", "photos", "storage", "expires_at", "state")
    list_display_links = ("cover_thumb", "title")
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
    # - uploads adds the uploader's status rows under <gallery>/upload/status/… (uploads/admin.py).
    formset_savers: dict = {}
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
            cover.help_text = "Empty: the first photo."
        if "owner" in form.base_fields:
            form.base_fields["owner"].initial = request.user.pk
        return form

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = Gallery.objects.editable_by(request.user)
        return qs.select_related("owner", "cover__asset").prefetch_related("cover__asset__variants")

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
            fields = {name: getattr(photo, name) for name in changed if name in ("title", "alt", "position")}
            if fields:
                services.photo_update(photo=photo, **fields)
            if "is_approved" in changed:
                approve = services.photo_approve if photo.is_approved else services.photo_unapprove
                approve(photo=photo)

    def delete_model(self, request: HttpRequest, obj: Gallery) -> None:
        services.gallery_destroy(gallery=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for gallery in queryset:
            services.gallery_destroy(gallery=gallery)

    @admin.display(description="Cover")
    def cover_thumb(self, obj: Gallery) -> str:
        return thumbnail_html(obj.cover.asset if obj.cover else None, size=48)

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

    def get_urls(self):
        return [
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
        return f"{obj.asset.width}×{obj.asset.height}"

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


admin.site.site_header = "Contact Sheet"
admin.site.site_title = "Contact Sheet admin"
admin.site.index_title = "Galleries and photos"
