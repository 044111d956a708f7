from __future__ import annotations

from rest_framework import serializers

from galleries.api.serializers import PhotoOutputSerializer, StrictMixin


class UploadCreateSerializer(StrictMixin, serializers.Serializer):
    gallery = serializers.UUIDField()
    filename = serializers.CharField(max_length=1000)
    size = serializers.IntegerField(min_value=1)
    sha256 = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Hex SHA-256 of the whole file."
    )


class UploadStateSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    gallery = serializers.UUIDField(allow_null=True, help_text="Null only for a tus partial upload.")
    filename = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField(allow_null=True)
    chunk_size = serializers.IntegerField()
    total_chunks = serializers.IntegerField()
    received_chunks = serializers.ListField(child=serializers.IntegerField())
    missing_chunks = serializers.ListField(child=serializers.IntegerField())
    offset = serializers.IntegerField(help_text="tus only: bytes received.")
    status = serializers.ChoiceField(choices=["open", "completing", "complete", "failed", "aborted", "expired"])
    photo = serializers.UUIDField(allow_null=True)
    error = serializers.CharField()
    expires_at = serializers.DateTimeField()


class ChunkReceiptSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    created = serializers.BooleanField(help_text="False when this chunk had already arrived (idempotent retry).")
    received_chunks = serializers.IntegerField()
    total_chunks = serializers.IntegerField()


class UploadCompleteSerializer(serializers.Serializer):
    photo = PhotoOutputSerializer()


class MissingChunksSerializer(serializers.Serializer):
    detail = serializers.CharField()
    missing_chunks = serializers.ListField(child=serializers.IntegerField())


# --- Door 3: presigned direct-to-S3 uploads (uploads.presigned) -------------------------------


class S3UploadCreateSerializer(StrictMixin, serializers.Serializer):
    gallery = serializers.UUIDField()
    filename = serializers.CharField(max_length=1000)
    size = serializers.IntegerField(min_value=1)
    sha256 = serializers.CharField(max_length=200, help_text="Hex SHA-256 of the whole file (required).")
    part_size = serializers.IntegerField(
        required=False, help_text="Bytes per part, 5 MiB to 5 GiB; the server chooses when left out."
    )


class S3UploadCreatedSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The upload's id in this API.")
    upload_id = serializers.CharField(help_text="The S3 multipart upload's UploadId.")
    key = serializers.CharField(help_text="The private staging key the parts go to.")
    part_size = serializers.IntegerField(help_text="Every part but the last has exactly this many bytes.")
    parts = serializers.IntegerField(help_text="How many parts the file has, numbered from 1.")
    status = serializers.CharField()
    expires_at = serializers.DateTimeField()


class S3PartsSignSerializer(StrictMixin, serializers.Serializer):
    numbers = serializers.ListField(
        child=serializers.IntegerField(), help_text="Part numbers (1-based), at most 100 per request."
    )
    checksum_sha256 = serializers.DictField(
        child=serializers.CharField(max_length=100),
        required=False,
        help_text='Optional: part number -> base64 SHA-256 of that part, e.g. {"1": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="}. '
        "It is signed into the URL; send it as the x-amz-checksum-sha256 header and the store refuses other bytes.",
    )


class S3PartUrlSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    size = serializers.IntegerField(help_text="The exact byte count this part must have.")
    url = serializers.URLField(help_text="PUT the part's bytes here.")
    headers = serializers.DictField(child=serializers.CharField(), help_text="Headers the PUT must carry.")


class S3PartUrlsSerializer(serializers.Serializer):
    parts = S3PartUrlSerializer(many=True)
    expires_at = serializers.DateTimeField(help_text="When these URLs stop working; ask again for fresh ones.")


class S3PartSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    size = serializers.IntegerField()
    etag = serializers.CharField()


class S3PartsStateSerializer(serializers.Serializer):
    part_size = serializers.IntegerField()
    total_parts = serializers.IntegerField()
    received = S3PartSerializer(many=True)
    missing_parts = serializers.ListField(child=serializers.IntegerField())


class S3MissingPartsSerializer(serializers.Serializer):
    detail = serializers.CharField()
    # Present when parts are missing; absent when the 409 says the server stores locally (storage_local).
    missing_parts = serializers.ListField(child=serializers.IntegerField(), required=False)


class S3CompleteAcceptedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField(help_text='"completing" while the worker verifies the file.')
    status_url = serializers.URLField(help_text="GET it for the upload's state: complete with its photo, or failed.")
