"""Who may do what: the one answer to "is this user a photographer / a manager?".

Every door asks here: the gallery querysets, the DRF permission classes of every app, the admin.
The rule itself lives on the user (User.is_photographer, User.is_manager); these helpers also
accept the anonymous user, which has neither property.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
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


# --- Communities -------------------------------------------------------------------------------
# The membership facts the access policy (sharing.access) is built from. They live here, in the
# lowest app, because the gallery querysets (galleries.models) must ask them too and galleries does
# not import sharing. Each is a Q over galleries or communities, built with subqueries on the
# membership table (never a join: a join on a community's N members would repeat each gallery N times).

CURATING_ROLES = ("owner", "curator")
CONTRIBUTING_ROLES = ("owner", "curator", "contributor")


def _member_of(user: Any, roles: tuple[str, ...] | None = None):
    """The ids of the communities this user belongs to (with one of `roles`), as a subquery."""
    from accounts.models import Membership

    rows = Membership.objects.filter(user=user)
    if roles is not None:
        rows = rows.filter(role__in=roles)
    return rows.values("community_id")


def community_rule(user: Any) -> Q:
    """Communities whose page this user may open: listed and unlisted to everyone, members-only ones to
    their members (every role); superusers all. A Q over accounts.Community."""
    if is_manager(user):
        return Q()
    rule = ~Q(visibility="members")
    if getattr(user, "is_authenticated", False) and user.is_active:
        rule |= Q(pk__in=_member_of(user))
    return rule


def gallery_member_rule(user: Any) -> Q:
    """Galleries this user sees as a member of their community, over galleries.Gallery (alive and open
    are the caller's business): `members` galleries to every member; every gallery of a community to
    its curators and owners, who manage its photos. Nothing for anonymous or inactive users."""
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        return Q(pk__in=[])
    return Q(visibility="members", community_id__in=_member_of(user)) | Q(
        community_id__in=_member_of(user, CURATING_ROLES)
    )


def gallery_outsider_rule(user: Any) -> Q:
    """Galleries an outsider's public/unlisted access may reach: not those of a members-only community
    this user is not in (a non-member gets 404 for everything of a members-only community)."""
    rule = Q(community__isnull=True) | ~Q(community__visibility="members")
    if getattr(user, "is_authenticated", False) and user.is_active:
        rule |= Q(community_id__in=_member_of(user))
    return rule


def curated_galleries_rule(user: Any) -> Q:
    """Galleries whose photos this user may curate (approve, reject, move, cover, feature): those of
    the communities they own or curate. Over galleries.Gallery."""
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        return Q(pk__in=[])
    return Q(community_id__in=_member_of(user, CURATING_ROLES))


def membership(user: Any, community: Any):
    """This user's Membership in the community, or None (anonymous and inactive users have none)."""
    from accounts.models import Membership

    if not (getattr(user, "is_authenticated", False) and user.is_active):
        return None
    return Membership.objects.filter(user=user, community=community).first()
