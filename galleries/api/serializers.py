from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

from galleries.media import media_url
from galleries.models import Gallery, Layout, Photo, State, Visibility
from galleries.privacy import FieldRule

# What each kind of field takes in a JSON body. DRF would also read 0 as "0", "true" and 1 as true
# and "5" as 5; the schema says string, boolean and integer, so those are refused here.
_JSON_TYPES: list[tuple[type[serializers.Field], tuple[type, ...], str]] = [
    (serializers.BooleanField, (bool,), "Must be true or false."),
    (serializers.IntegerField, (int,), "Must be a whole number."),
    (serializers.CharField, (str,), "Must be a string."),
    (serializers.ChoiceField, (str,), "Must be a string."),
    (serializers.UUIDField, (str,), "Must be a string."),
    (serializers.DateTimeField, (str,), "Must be a string."),
]


def _json_type_error(field: serializers.Field, value: Any) -> str | None:
    if value is None:
        return None  # null is the field's own business (allow_null)
    if isinstance(field, serializers.ListField):
        if not isinstance(value, list):
            return "Must be a list."
        errors = [_json_type_error(field.child, item) for item in value]
        return next((error for error in errors if error), None)
    for kind, types, message in _JSON_TYPES:
        if isinstance(field, kind):
            wrong = not isinstance(value, types) or (kind is serializers.IntegerField and isinstance(value, bool))
            if wrong:
                return message
            break
    # maxLength counts the string as sent; DRF would count it after trimming its whitespace.
    max_length = getattr(field, "max_length", None)
    if isinstance(value, str) and max_length is not None and len(value) > max_length:
        return f"Ensure this field has no more than {max_length} characters."
    return None


class StrictMixin:
    """Refuse what the endpoint does not know or a JSON body gives in the wrong type.

    An object is required (a JSON array or a string is refused), fields it does not know are
    refused instead of silently ignored, and in a JSON body each value has its field's JSON type.
    Form bodies (QueryDict) carry only strings and are left to the fields' own parsing.
    """

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError(
                {api_settings.NON_FIELD_ERRORS_KEY: [f"Expected an object, got {type(data).__name__}."]}
            )
        unknown = set(data.keys()) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
        if not isinstance(data, QueryDict):
            wrong = {
                name: [error]
                for name, value in data.items()
                if (error := _json_type_error(self.fields[name], value)) is not None
            }
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


class GalleryInputSerializer(StrictMixin, serializers.Serializer):
    title = serializers.CharField(min_length=1, max_length=100)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    visibility = serializers.ChoiceField(
        choices=Visibility.choices,
        required=False,
        help_text="An unlisted gallery gets an address with a random part that cannot be guessed from its title.",
    )
    default_layout = serializers.ChoiceField(choices=Layout.choices, required=False)
    show_metadata = serializers.BooleanField(
        required=False, help_text="Show visitors camera details (EXIF) and original file names; never location."
    )
    expires_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="From then on only the owner sees it, until it is purged; must lie ahead. Null: never expires.",
    )
    publish_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="Until then the gallery is a draft only the owner sees; must come before `expires_at`. "
        "Null: visible at once.",
    )


class GalleryUpdateSerializer(GalleryInputSerializer):
    title = serializers.CharField(min_length=1, max_length=100, required=False)
    cover = serializers.UUIDField(required=False, allow_null=True, help_text="A photo of this gallery, or null.")


class GalleryOutputSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    photo_count = serializers.IntegerField(read_only=True)
    cover = serializers.UUIDField(source="cover_id", allow_null=True, read_only=True)
    url = serializers.SerializerMethodField()
    state = serializers.ChoiceField(
        choices=State.choices,
        read_only=True,
        help_text="draft (before `publish_at`), published, expiring (within the notice days of `expires_at`), "
        "expired (only the owner sees it) or trash.",
    )
    purge_at = serializers.SerializerMethodField(
        help_text="When it will be deleted for good (expired or in the trash). The owner and admins only; "
        "null for anyone else or when no purge is due."
    )
    storage_bytes = serializers.SerializerMethodField(
        help_text="Bytes its photos take in storage, originals and every size. The owner and admins only."
    )

    class Meta:
        model = Gallery
        fields = [
            "id",
            "title",
            "slug",
            "description",
            "visibility",
            "default_layout",
            "show_metadata",
            "cover",
            "photo_count",
            "owner",
            "state",
            "publish_at",
            "expires_at",
            "purge_at",
            "deleted_at",
            "storage_bytes",
            "created_at",
            "updated_at",
            "url",
        ]

    def _for_owner(self, obj: Gallery) -> bool:
        request = self.context.get("request")
        return request is not None and obj.is_editable_by(request.user)

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_purge_at(self, obj: Gallery) -> str | None:
        purge_at = obj.purge_at if self._for_owner(obj) else None
        return None if purge_at is None else serializers.DateTimeField().to_representation(purge_at)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_storage_bytes(self, obj: Gallery) -> int | None:
        return obj.storage_bytes if self._for_owner(obj) else None

    def get_url(self, obj: Gallery) -> str:
        request = self.context.get("request")
        path = obj.get_absolute_url()
        return request.build_absolute_uri(path) if request else path


class VariantSerializer(serializers.Serializer):
    name = serializers.CharField()
    format = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    size = serializers.IntegerField()
    url = serializers.SerializerMethodField()

    def get_url(self, obj: Any) -> str:
        return media_url(obj.key)


def field_rule(context: dict) -> FieldRule:
    """The field rule a serializer was given; anyone without one is a visitor who sees the least."""
    rule = context.get("rule")
    return rule if isinstance(rule, FieldRule) else FieldRule()


OWNER_ONLY = "The owner and admins only; null for anyone else."
WITH_METADATA = "The owner, and visitors where the gallery or share link shows metadata; null otherwise."


class PhotoOutputSerializer(serializers.ModelSerializer):
    """A photo as one viewer may see it: every field that is not for them is null (galleries.privacy)."""

    gallery = serializers.SerializerMethodField(help_text="The gallery's id; null through a share link.")
    original_filename = serializers.SerializerMethodField(help_text=WITH_METADATA)
    status = serializers.CharField(source="asset.status")
    error = serializers.SerializerMethodField(help_text="Why processing failed. " + OWNER_ONLY)
    kind = serializers.CharField(source="asset.kind")
    mime = serializers.CharField(source="asset.mime")
    size = serializers.IntegerField(source="asset.size")
    sha256 = serializers.SerializerMethodField(help_text="The content hash. " + OWNER_ONLY)
    width = serializers.IntegerField(source="asset.width")
    height = serializers.IntegerField(source="asset.height")
    aspect_ratio = serializers.FloatField(source="asset.aspect_ratio", allow_null=True)
    blurhash = serializers.CharField(source="asset.blurhash")
    exif = serializers.SerializerMethodField(help_text="Camera, lens and exposure. " + WITH_METADATA)
    gps = serializers.SerializerMethodField(help_text="Where it was taken. " + OWNER_ONLY)
    duration = serializers.FloatField(source="asset.duration", allow_null=True)
    variants = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Photo
        fields = [
            "id",
            "gallery",
            "position",
            "title",
            "alt",
            "original_filename",
            "status",
            "error",
            "kind",
            "mime",
            "size",
            "sha256",
            "width",
            "height",
            "aspect_ratio",
            "blurhash",
            "exif",
            "gps",
            "duration",
            "variants",
            "download_url",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_gallery(self, obj: Photo) -> str | None:
        return obj.gallery_id if field_rule(self.context).sees_gallery_address else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_original_filename(self, obj: Photo) -> str | None:
        return field_rule(self.context).original_filename(obj)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_error(self, obj: Photo) -> str | None:
        return field_rule(self.context).error(obj.asset)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_sha256(self, obj: Photo) -> str | None:
        return field_rule(self.context).sha256(obj.asset)

    @extend_schema_field(serializers.JSONField(allow_null=True))
    def get_exif(self, obj: Photo) -> dict | None:
        return field_rule(self.context).exif(obj.asset)

    @extend_schema_field(VariantSerializer(many=True))
    def get_variants(self, obj: Photo) -> list[dict]:
        rule = field_rule(self.context)
        # Plain dicts: a nested serializer per photo costs more than the rest of the page.
        return [
            {
                "name": v.name,
                "format": v.format,
                "width": v.width,
                "height": v.height,
                "size": v.size,
                "url": media_url(v.key, rule=rule),
            }
            for v in obj.asset.variant_list()
        ]

    @extend_schema_field(serializers.JSONField(allow_null=True))
    def get_gps(self, obj: Photo) -> dict | None:
        return field_rule(self.context).gps(obj.asset)

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="The original, as uploaded. " + OWNER_ONLY))
    def get_download_url(self, obj: Photo) -> str | None:
        if not field_rule(self.context).owner:
            return None
        request = self.context["request"]
        from django.urls import reverse

        return request.build_absolute_uri(reverse("photo-download", args=[obj.pk]))


class PhotoUpdateSerializer(StrictMixin, serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    alt = serializers.CharField(max_length=200, required=False, allow_blank=True)
    position = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)


class PhotoUploadSerializer(StrictMixin, serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), allow_empty=False, help_text="One or more image files."
    )


class PhotoUploadResultSerializer(serializers.Serializer):
    created = serializers.BooleanField(help_text="False when these bytes were already in the gallery.")
    photo = PhotoOutputSerializer()


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "degraded"])
    database = serializers.CharField()
    storage = serializers.CharField()
    queue = serializers.CharField()
    queued_tasks = serializers.IntegerField(allow_null=True)


class GalleryPageSerializer(serializers.Serializer):
    """One page of galleries (cursor pagination: follow `next` and `previous`)."""

    next = serializers.URLField(allow_null=True, help_text="The next page, or null on the last one.")
    previous = serializers.URLField(allow_null=True, help_text="The page before, or null on the first one.")
    results = GalleryOutputSerializer(many=True)


class PhotoPageSerializer(serializers.Serializer):
    """One page of photos (page-number pagination)."""

    count = serializers.IntegerField(help_text="How many photos in all pages.")
    next = serializers.URLField(allow_null=True, help_text="The next page, or null on the last one.")
    previous = serializers.URLField(allow_null=True, help_text="The page before, or null on the first one.")
    results = PhotoOutputSerializer(many=True)


# issue 14: before an upload, which of these files does the gallery already hold?
PHOTO_CHECK_MAX = 5000


class PhotoCheckSerializer(StrictMixin, serializers.Serializer):
    sha256 = serializers.ListField(
        child=serializers.RegexField(
            r"^[0-9a-fA-F]{64}$", error_messages={"invalid": "Must be a SHA-256 sum: 64 hexadecimal characters."}
        ),
        allow_empty=False,
        max_length=PHOTO_CHECK_MAX,
        error_messages={"max_length": f"Send at most {PHOTO_CHECK_MAX} sums at once."},
        help_text=f"SHA-256 sums of the files about to be uploaded (hex, at most {PHOTO_CHECK_MAX}).",
    )


class PhotoCheckResultSerializer(serializers.Serializer):
    held = serializers.ListField(
        child=serializers.CharField(), help_text="The sums (lower case, in the order sent) the gallery already holds."
    )
    held_count = serializers.IntegerField(help_text="How many of the distinct sums sent the gallery holds.")
    checked = serializers.IntegerField(help_text="How many distinct sums were checked.")
