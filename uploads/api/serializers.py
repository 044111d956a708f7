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
