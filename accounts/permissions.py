"""Who may do what: the one answer to "is this user a photographer / a manager?".

Every door asks here: the gallery querysets, the DRF permission classes of every app, the admin.
The rule itself lives on the user (User.is_photographer, User.is_manager); these helpers also
accept the anonymous user, which has neither property.
"""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.views import APIView


def is_photographer(user: Any) -> bool:
    """An active staff user or superuser: owns galleries (see User.is_photographer)."""
    return bool(getattr(user, "is_photographer", False))


def is_manager(user: Any) -> bool:
    """An active superuser: manages everybody's galleries (see User.is_manager)."""
    return bool(getattr(user, "is_manager", False))


class IsPhotographerOrReadOnly(permissions.BasePermission):
    """Anyone may read what the queryset shows them; only photographers may write."""

    message = "Only photographers (staff users) can change galleries and photos."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.method in permissions.SAFE_METHODS or is_photographer(request.user)


class IsPhotographer(permissions.BasePermission):
    """Only photographers, even to read (uploads are writes all the way)."""

    message = IsPhotographerOrReadOnly.message

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_photographer(request.user)


class ManagersReadOnlyAdmin:
    """A ModelAdmin mixin: managers (active superusers) look, nobody adds, changes or deletes.

    For records the code writes and people only read (assets, the notifications log).
    """

    def has_module_permission(self, request: Any) -> bool:
        return is_manager(request.user)

    def has_view_permission(self, request: Any, obj: Any = None) -> bool:
        return is_manager(request.user)

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
