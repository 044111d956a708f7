"""Community drops: members with the contributor role (or more) send photos into their community's
galleries through tus, like guests through a drop link.

The same upload service and limits as every other door; the access policy (sharing.access) instead
of gallery ownership; the member's daily quota (files and bytes in 24 hours, set by the community)
counted from their uploads; their photos wait for a curator unless the member is trusted. Lives in
uploads (uploads -> sharing -> galleries -> accounts), like the guest drop box.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from knox.auth import TokenAuthentication
from rest_framework import permissions
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request

from accounts.models import Membership, Rejection
from accounts.permissions import CURATING_ROLES
from config.exceptions import InvalidInput, NotFound, TooLarge, TooManyRequests
from config.schema import HeadOptionsSchema
from galleries import services as gallery_services
from galleries.models import Gallery, Photo
from notifications.services import notify
from sharing import access
from uploads import services
from uploads.api.views import TusCreateApi, TusDetailApi
from uploads.models import Upload, UploadProtocol, UploadStatus

QUOTA_WINDOW = timedelta(hours=24)
COUNTED = [UploadStatus.OPEN, UploadStatus.COMPLETING, UploadStatus.COMPLETE]


def _contributor(request: HttpRequest, slug: str) -> access.CommunityAccess:
    """The community, if this user may drop into it: 404 to outsiders, 403 to viewers."""
    seen = access.open_community(request.user, slug=slug)
    if not seen.is_member:
        raise NotFound("There is no such community.")
    access.require_contributor(seen)
    request._community_membership = seen.membership  # for finalize_response (trusted members)
    return seen


def drop_galleries(seen: access.CommunityAccess, user) -> list[Gallery]:
    """The galleries a member may drop into: the community's open galleries they can see."""
    return list(Gallery.objects.visible_to(user).filter(community=seen.community).order_by("title").only("pk", "title"))


def used_today(membership: Membership) -> tuple[int, int]:
    """(files, bytes) this member dropped into the community in the last 24 hours, in flight included."""
    now = timezone.now()
    # An open upload holds its place only while it makes progress (as on a guest's drop link).
    stalled = Q(status=UploadStatus.OPEN, updated_at__lt=now - settings.UPLOAD_RESERVATION_WINDOW)
    rows = Upload.objects.filter(
        owner_id=membership.user_id,
        gallery__community_id=membership.community_id,
        created_at__gte=now - QUOTA_WINDOW,
        status__in=COUNTED,
    ).exclude(stalled)
    totals = rows.aggregate(size=Sum("size"))
    return rows.count(), totals["size"] or 0


def check_quota(membership: Membership, size: int) -> None:
    """Refuse a drop past the member's daily quota: 429 for files, 413 for bytes, with what is left."""
    community = membership.community
    files, used = used_today(membership)
    if files + 1 > community.daily_file_quota:
        raise TooManyRequests(
            f"You have sent {files} files in the last 24 hours; {community.name} takes {community.daily_file_quota} "
            "a day from each member. Try again later.",
            code="quota_files",
            retry_after=3600,
        )
    if used + size > community.daily_byte_quota:
        left = max(0, community.daily_byte_quota - used)
        raise TooLarge(
            f"{community.name} takes {gallery_services.human_size(community.daily_byte_quota)} a day from each "
            f"member; {gallery_services.human_size(left)} is left for today.",
            code="quota_bytes",
        )


def _settle(upload: Upload, membership: Membership) -> None:
    """After an upload completes: a trusted member's photo is shown at once (through the approval
    service); another member's waits, and the community's curators hear of it (batched: at most one
    mail per curator and hour, sent by the worker)."""
    upload.refresh_from_db(fields=["status", "photo"])
    if upload.status != UploadStatus.COMPLETE or not upload.photo_id:
        return
    photo = Photo.objects.filter(pk=upload.photo_id, is_approved=False).first()
    if photo is None:
        return
    if membership.trusted:
        gallery_services.photos_approve(photos=[photo])
    else:
        _tell_curators(membership)


def _tell_curators(membership: Membership) -> None:
    community = membership.community
    hour = timezone.now().strftime("%Y%m%d%H")
    curators = Membership.objects.filter(community=community, role__in=CURATING_ROLES).select_related("user")
    waiting = Photo.objects.filter(
        gallery__community=community, gallery__deleted_at__isnull=True, is_approved=False
    ).count()
    for curator in curators:
        if not curator.user.email or curator.user_id == membership.user_id:
            continue
        notify(
            key=f"community-drops:{community.pk}:{curator.user_id}:{hour}",
            to=curator.user.email,
            template="community_drops",
            topic=f"community:{community.pk}",
            context={
                "community_name": community.name,
                "waiting_count": waiting,
                "queue_url": settings.SITE_URL + reverse("communities:queue", args=[community.slug]),
            },
        )


class _SessionCsrfByHeader(SessionAuthentication):
    """The session, with Django's CSRF check made on the plain request: the token comes in the
    X-CSRFToken header, and the body (tus bytes, no form) is never parsed to look for one."""

    def enforce_csrf(self, request: Request) -> None:
        super().enforce_csrf(request._request)


class _MemberSchema(HeadOptionsSchema):
    """In the schema this door takes the usual token or session (the CSRF check only reads the header)."""

    def get_auth(self) -> list[dict]:
        return [{"knoxApiToken": []}, {"cookieAuth": []}]


class _MemberDoor:
    """What both member tus views share: a signed-in member of the community owns the uploads."""

    schema = _MemberSchema()
    authentication_classes = [TokenAuthentication, _SessionCsrfByHeader]
    permission_classes = [permissions.IsAuthenticated]
    detail_url_name = "member-tus-detail"

    def finalize_response(self, request: Request, response: HttpResponse, *args, **kwargs) -> HttpResponse:
        """After a request that may have completed an upload (creation with bytes, PATCH, HEAD): show a
        trusted member's photo at once. Refetched: the view's own objects may be stale."""
        if request.method in ("POST", "PATCH", "HEAD") and 200 <= response.status_code < 300:
            upload_id = kwargs.get("upload_id")
            if upload_id is None and response.has_header("Location"):
                upload_id = response["Location"].rstrip("/").rsplit("/", 1)[-1]
            membership = getattr(request, "_community_membership", None)
            if membership is not None:
                membership = Membership.objects.select_related("community").get(pk=membership.pk)
            try:
                upload_id = uuid.UUID(str(upload_id)) if upload_id else None
            except ValueError:
                upload_id = None
            upload = Upload.objects.filter(pk=upload_id, owner=request.user).first() if upload_id else None
            if upload is not None and membership is not None:
                _settle(upload, membership)
        return super().finalize_response(request, response, *args, **kwargs)

    def _upload(self, request: Request, upload_id: uuid.UUID | str, slug: str = "") -> Upload:
        # The address takes any text (a str converter), so a bad id is this door's JSON 404, not a page.
        seen = _contributor(request, slug)
        try:
            upload_id = uuid.UUID(str(upload_id))
        except ValueError:
            raise NotFound("No such upload.") from None
        return get_object_or_404(
            Upload.objects.owned_by(request.user).filter(gallery__community=seen.community),
            pk=upload_id,
            protocol=UploadProtocol.TUS,
        )


class MemberTusCreateApi(_MemberDoor, TusCreateApi):
    """tus creation for members: Upload-Metadata names the gallery (one of the community's)."""

    def _create(self, request: Request, metadata: dict, size: int, slug: str = "") -> Upload:
        seen = _contributor(request, slug)
        try:
            pk = uuid.UUID(str(metadata.get("gallery")))
        except ValueError:
            raise InvalidInput("Choose the gallery the photos go to.") from None
        gallery = Gallery.objects.visible_to(request.user).filter(community=seen.community, pk=pk).first()
        if gallery is None:
            raise NotFound("There is no such gallery in this community.")
        with transaction.atomic():
            # One drop at a time per member: the quota is counted and reserved together.
            membership = Membership.objects.select_for_update().select_related("community").get(pk=seen.membership.pk)
            check_quota(membership, size)
            return services.upload_create(
                owner=request.user,
                gallery=gallery,
                filename=metadata.get("filename") or metadata.get("name") or "",
                size=size,
                sha256=metadata.get("sha256"),
                protocol=UploadProtocol.TUS,
                guest_name=request.user.get_username()[:100],
            )

    def _create_partial(self, request: Request, size: int, slug: str = "") -> Upload:
        raise InvalidInput("Community drops send each file whole: tus concatenation is not offered here.")

    def _create_final(self, request: Request, metadata: dict, parts: list[Upload], slug: str = "") -> Upload:
        raise InvalidInput("Community drops send each file whole: tus concatenation is not offered here.")


class MemberTusDetailApi(_MemberDoor, TusDetailApi):
    pass


def member_drop_page(request: HttpRequest, slug: str) -> HttpResponse:
    """/c/<slug>/drop/: a contributor's uploader (Uppy over tus), with today's quota."""
    if not request.user.is_authenticated:
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path())
    try:
        seen = _contributor(request, slug)
    except NotFound:
        raise Http404("There is no such community.") from None
    except access.CommunityForbidden as exc:
        return render(request, "accounts/communities/refused.html", {"message": exc.message, "status": 403}, status=403)
    membership = Membership.objects.select_related("community").get(pk=seen.membership.pk)
    files, used = used_today(membership)
    community = membership.community
    context = {
        "community": community,
        "seen": seen,
        "tab": "drop",
        "galleries": drop_galleries(seen, request.user),
        "endpoint": reverse("member-tus-create", args=[slug]),
        "chunk_size": settings.UPLOAD_CHUNK_SIZE,
        "max_size": min(settings.MAX_UPLOAD_SIZE, max(0, community.daily_byte_quota - used)),
        "files_left": max(0, community.daily_file_quota - files),
        "bytes_left": gallery_services.human_size(max(0, community.daily_byte_quota - used)),
        "rejections": list(Rejection.objects.filter(community=community, contributor=request.user)[:20]),
    }
    return render(request, "accounts/communities/drop.html", context)
