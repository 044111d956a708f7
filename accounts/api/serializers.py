from __future__ import annotations

from django.contrib.auth import authenticate
from rest_framework import serializers

from accounts.lockout import LoginLockedOut


class LoginInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})

    def validate(self, attrs: dict) -> dict:
        request = self.context["request"]
        # The request goes to authenticate() so django-axes (first in AUTHENTICATION_BACKENDS)
        # can refuse a locked-out username and address before the password is checked, and
        # record this attempt if it fails.
        user = authenticate(request, username=attrs["username"], password=attrs["password"])
        if getattr(request, "axes_locked_out", False):
            raise LoginLockedOut(request)
        if user is None or not user.is_active:
            raise serializers.ValidationError("Unable to log in with the username and password given.")
        attrs["user"] = user
        return attrs


class LoginOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text='Send as "Authorization: Token <token>".')
    expiry = serializers.DateTimeField(allow_null=True)
    username = serializers.CharField()
