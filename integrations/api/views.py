"""/api/v1/webhooks…: an owner's endpoints, their deliveries, secret rotation and replays.

Photographers only; an endpoint that is not yours is a 404, like anything else that is not yours.
"""

from __future__ import annotations

import uuid

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsPhotographer
from config.api import errors
from galleries.api.pagination import PAGE_PARAMETERS, PhotoPagination
from integrations import services
from integrations.api.serializers import (
    DeliveryOutputSerializer,
    DeliveryPageSerializer,
    EndpointCreatedSerializer,
    EndpointInputSerializer,
    EndpointOutputSerializer,
    SecretSerializer,
)
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

TAGS = ["webhooks"]


def _get_endpoint_for_user(request: Request, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint.objects.owned_by(request.user), pk=endpoint_id)


class WebhookListApi(APIView):
    permission_classes = [IsPhotographer]

    @extend_schema(
        summary="List your webhook endpoints",
        responses={200: EndpointOutputSerializer(many=True), **errors(401, 403)},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        endpoints = WebhookEndpoint.objects.owned_by(request.user)
        return Response(EndpointOutputSerializer(endpoints, many=True).data)

    @extend_schema(
        summary="Register a webhook endpoint",
        description="The answer carries the signing secret, this once. URLs must be https and reach a public address.",
        request=EndpointInputSerializer,
        responses={201: EndpointCreatedSerializer, **errors(400, 401, 403)},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        data = EndpointInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = services.endpoint_create(owner=request.user, **data.validated_data)
        out = EndpointCreatedSerializer(endpoint).data
        out["secret"] = secret
        return Response(out, status=status.HTTP_201_CREATED)


class WebhookDetailApi(APIView):
    permission_classes = [IsPhotographer]

    @extend_schema(
        summary="Read a webhook endpoint", responses={200: EndpointOutputSerializer, **errors(401, 403, 404)}, tags=TAGS
    )
    def get(self, request: Request, endpoint_id: uuid.UUID) -> Response:
        return Response(EndpointOutputSerializer(_get_endpoint_for_user(request, endpoint_id)).data)

    @extend_schema(
        summary="Change a webhook endpoint",
        request=EndpointInputSerializer(partial=True),
        responses={200: EndpointOutputSerializer, **errors(400, 401, 403, 404)},
        tags=TAGS,
    )
    def patch(self, request: Request, endpoint_id: uuid.UUID) -> Response:
        endpoint = _get_endpoint_for_user(request, endpoint_id)
        data = EndpointInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.endpoint_update(endpoint=endpoint, **data.validated_data)
        return Response(EndpointOutputSerializer(endpoint).data)

    @extend_schema(
        summary="Delete a webhook endpoint",
        responses={204: OpenApiResponse(description="Deleted, with its deliveries."), **errors(401, 403, 404)},
        tags=TAGS,
    )
    def delete(self, request: Request, endpoint_id: uuid.UUID) -> Response:
        services.endpoint_delete(endpoint=_get_endpoint_for_user(request, endpoint_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretApi(APIView):
    permission_classes = [IsPhotographer]

    @extend_schema(
        summary="Rotate a webhook endpoint's signing secret",
        description="Returns the new secret this once. For 24 hours deliveries carry two signatures (new and old).",
        request=None,
        responses={200: SecretSerializer, **errors(401, 403, 404)},
        tags=TAGS,
    )
    def post(self, request: Request, endpoint_id: uuid.UUID) -> Response:
        endpoint = _get_endpoint_for_user(request, endpoint_id)
        return Response({"secret": services.endpoint_rotate_secret(endpoint=endpoint)})


STATUS_PARAMETER = OpenApiParameter(
    "status", str, enum=DeliveryStatus.values, description="Only deliveries in this state."
)


class WebhookDeliveryListApi(APIView):
    permission_classes = [IsPhotographer]

    @extend_schema(
        summary="An endpoint's deliveries, newest first",
        parameters=[STATUS_PARAMETER, *PAGE_PARAMETERS],
        responses={200: DeliveryPageSerializer, **errors(400, 401, 403, 404)},
        tags=TAGS,
    )
    def get(self, request: Request, endpoint_id: uuid.UUID) -> Response:
        endpoint = _get_endpoint_for_user(request, endpoint_id)
        deliveries = WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event").order_by("-id")
        wanted = request.query_params.get("status")
        if wanted is not None:
            if wanted not in DeliveryStatus.values:
                raise ValidationError({"status": [f"Must be one of: {', '.join(DeliveryStatus.values)}."]})
            deliveries = deliveries.filter(status=wanted)
        paginator = PhotoPagination()
        page = paginator.paginate_queryset(deliveries, request, view=self)
        return paginator.get_paginated_response(DeliveryOutputSerializer(page, many=True).data)


class WebhookDeliveryReplayApi(APIView):
    permission_classes = [IsPhotographer]

    @extend_schema(
        summary="Replay a delivery",
        description="Sends the same event (same webhook-id) again as a new delivery. "
        "409 while the delivery is still being tried or the endpoint is switched off.",
        request=None,
        responses={202: DeliveryOutputSerializer, **errors(401, 403, 404, 409)},
        tags=TAGS,
    )
    def post(self, request: Request, endpoint_id: uuid.UUID, delivery_id: int) -> Response:
        endpoint = _get_endpoint_for_user(request, endpoint_id)
        delivery = get_object_or_404(WebhookDelivery.objects.filter(endpoint=endpoint), pk=delivery_id)
        replay = services.delivery_replay(delivery=delivery)
        replay.refresh_from_db()
        return Response(DeliveryOutputSerializer(replay).data, status=status.HTTP_202_ACCEPTED)
