from __future__ import annotations

from rest_framework import serializers

from galleries.api.serializers import PhotoOutputSerializer, StrictMixin
from sharing.models import NOTE_MAX_LENGTH, DownloadSizes, ShareLink


class ShareLinkInputSerializer(StrictMixin, serializers.Serializer):
    label = serializers.CharField(max_length=100, required=False, allow_blank=True)
    password = serializers.CharField(
        max_length=200, required=False, allow_blank=True, allow_null=True, trim_whitespace=False,
        help_text="Set or change; empty or null removes it. Changing it closes every open unlock.",
    )  # fmt: skip
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    allow_download = serializers.BooleanField(required=False)
    download_sizes = serializers.ChoiceField(
        choices=DownloadSizes.choices, required=False,
        help_text="With `allow_download`: which sizes visitors may download (web: the largest web picture; "
        "original: full size).",
    )  # fmt: skip
    allow_upload = serializers.BooleanField(required=False)
    show_metadata = serializers.BooleanField(required=False)
    selection_quota = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=100_000)
    # The guest drop box's caps: files and bytes guests may send through this link in all.
    upload_max_files = serializers.IntegerField(required=False, min_value=0, max_value=100_000)
    upload_max_bytes = serializers.IntegerField(required=False, min_value=0, max_value=10**15)
    revoked = serializers.BooleanField(required=False, help_text="true switches the link off; false restores it.")


class ShareLinkOutputSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    has_password = serializers.BooleanField()
    state = serializers.CharField()
    gallery = serializers.UUIDField(source="gallery_id")

    class Meta:
        model = ShareLink
        fields = [
            "id", "gallery", "token", "url", "label", "has_password", "state", "expires_at", "revoked_at",
            "allow_download", "allow_upload", "show_metadata", "selection_quota", "view_count", "download_count",
            "last_viewed_at", "created_at",
        ]  # fmt: skip
        fields += ["upload_max_files", "upload_max_bytes"]  # the guest drop box's caps
        fields += ["download_sizes"]

    def get_url(self, obj: ShareLink) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(obj.get_absolute_url()) if request else obj.get_absolute_url()


class SharedGalleryInfoSerializer(serializers.Serializer):
    """What a shared gallery tells its visitors: never its id or address, which would outlive the link."""

    title = serializers.CharField()
    description = serializers.CharField()
    default_layout = serializers.CharField()
    photo_count = serializers.IntegerField()
    url = serializers.CharField(help_text="The share link's own address.")


class SharedGallerySerializer(serializers.Serializer):
    gallery = SharedGalleryInfoSerializer()
    allow_download = serializers.BooleanField()
    download_sizes = serializers.ListField(
        child=serializers.CharField(),  # not an enum: a second enum of this name would collide with the link's
        help_text="The sizes visitors may download, the largest first: `original` (full size) and/or `web` (the "
        "largest web picture), for …/p/{photo}/download?size= and …/download.zip?size=; empty when downloads are off.",
    )
    show_metadata = serializers.BooleanField()
    selection_quota = serializers.IntegerField(allow_null=True)
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = PhotoOutputSerializer(many=True)


class UnlockInputSerializer(StrictMixin, serializers.Serializer):
    password = serializers.CharField(max_length=200, trim_whitespace=False)


class UnlockOutputSerializer(serializers.Serializer):
    grant = serializers.CharField(help_text='Send as "X-Share-Grant" if you do not keep cookies.')


class PhotoNoteSerializer(StrictMixin, serializers.Serializer):
    photo = serializers.UUIDField(help_text="One of your favourites (or one added in the same request).")
    note = serializers.CharField(
        max_length=NOTE_MAX_LENGTH, allow_blank=True, help_text="For the photographer; empty removes the note."
    )


class SelectionInputSerializer(StrictMixin, serializers.Serializer):
    add = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=1000)
    remove = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=1000)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    submit = serializers.BooleanField(required=False, help_text="Send the selection to the photographer (locks it).")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    notes = PhotoNoteSerializer(
        many=True, required=False, max_length=1000,
        help_text="Per-photo notes for the photographer, on chosen photos; a photo removed loses its note.",
    )  # fmt: skip

    def validate_notes(self, value: list[dict]) -> list[dict]:
        photos = [item["photo"] for item in value]
        if len(set(photos)) != len(photos):
            raise serializers.ValidationError("One note per photo.")
        return value


class PhotoNoteOutputSerializer(serializers.Serializer):
    photo = serializers.UUIDField()
    note = serializers.CharField()


class SelectionOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    email = serializers.CharField()
    note = serializers.CharField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    photos = serializers.ListField(child=serializers.UUIDField())
    notes = PhotoNoteOutputSerializer(many=True, help_text="Your notes on chosen photos, in no particular order.")
    quota = serializers.IntegerField(allow_null=True)
