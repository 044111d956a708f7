from __future__ import annotations

from rest_framework import serializers

from config.events import EVENT_TYPES
from galleries.api.serializers import StrictMixin
from integrations.models import WebhookDelivery, WebhookEndpoint


class EndpointInputSerializer(StrictMixin, serializers.Serializer):
    url = serializers.CharField(max_length=2000, help_text="https URL that receives the POSTs.")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES),
        min_length=1,
        error_messages={"min_length": "Choose at least one event.", "empty": "Choose at least one event."},
        help_text="Event types to receive.",
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class EndpointOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "description", "is_active", "created_at", "updated_at"]


class EndpointCreatedSerializer(EndpointOutputSerializer):
    secret = serializers.CharField(help_text="The signing secret (whsec_…). Shown this once: store it now.")

    class Meta(EndpointOutputSerializer.Meta):
        fields = [*EndpointOutputSerializer.Meta.fields, "secret"]


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new signing secret, shown this once; the old one signs too for 24 h.")


class DeliveryOutputSerializer(serializers.ModelSerializer):
    event_id = serializers.CharField(source="event.message_id", help_text="The webhook-id header.")
    event_type = serializers.CharField(source="event.type")
    object_id = serializers.CharField(source="event.object_id")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "object_id",
            "status",
            "attempts",
            "response_status",
            "response_ms",
            "last_error",
            "next_attempt_at",
            "last_attempt_at",
            "delivered_at",
            "replay_of",
            "created_at",
        ]


class DeliveryPageSerializer(serializers.Serializer):
    """One page of deliveries (page-number pagination)."""

    count = serializers.IntegerField(help_text="How many deliveries in all pages.")
    next = serializers.URLField(allow_null=True, help_text="The next page, or null on the last one.")
    previous = serializers.URLField(allow_null=True, help_text="The page before, or null on the first one.")
    results = DeliveryOutputSerializer(many=True)
