from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from knox.auth import TokenAuthentication
from knox.models import AuthToken
from knox.settings import knox_settings
from rest_framework import permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import LoginInputSerializer, LoginOutputSerializer
from config.api import errors
from config.throttle import AddressRateThrottle


class AuthLoginApi(APIView):
    """Exchange a username and password for an API token.

    Two limits, both answered with 429 and Retry-After: LOGIN_THROTTLE attempts per client
    address (any usernames), and a lockout of one username from one address after
    LOGIN_FAILURE_LIMIT wrong passwords (django-axes, shared with the sign-in page and the admin).
    """

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [AddressRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        request=LoginInputSerializer,
        responses={
            200: LoginOutputSerializer,
            **errors(400),
            429: OpenApiResponse(
                response=errors(429)[429].response,
                description=(
                    "Too many attempts from this address, or this username is locked out from this "
                    "address after repeated wrong passwords. The Retry-After header says how many "
                    "seconds to wait."
                ),
            ),
        },
        parameters=[
            OpenApiParameter(
                "Retry-After",
                int,
                OpenApiParameter.HEADER,
                response=[429],
                description="Seconds to wait before trying again.",
            )
        ],
        auth=[],
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        serializer = LoginInputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        instance, token = AuthToken.objects.create(user=user, expiry=knox_settings.TOKEN_TTL)
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        data = {"token": token, "expiry": instance.expiry, "username": user.get_username()}
        return Response(LoginOutputSerializer(data).data)


class AuthLogoutApi(APIView):
    """Revoke the token this request was made with."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=None,
        responses={204: OpenApiResponse(description="Token revoked."), **errors(401)},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        request._auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
