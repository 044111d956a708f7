"""The communities API: communities, members, invitations and the curation queue under /api/v1/.

The same conventions as the galleries API: JSON, snake_case, DRF errors; every object is fetched
through the access policy first (sharing.access.open_community: 404 for outsiders), then the
member's role is checked (403), then one service is called (accounts.communities, sharing.curation).
"""

from __future__ import annotations

import uuid

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import communities
from accounts.models import Community, CommunityVisibility, Invitation, Membership, Role
from config.api import ANYONE, errors
from config.exceptions import InvalidInput, NotFound
from galleries.models import Gallery
from galleries.presenters import picture
from sharing import access, curation

# --- Serializers ---------------------------------------------------------------------------------


class CommunityOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    slug = serializers.CharField()
    description = serializers.CharField()
    visibility = serializers.ChoiceField(choices=CommunityVisibility.choices)
    avatar_url = serializers.CharField()
    url = serializers.CharField(source="get_absolute_url")
    daily_file_quota = serializers.IntegerField()
    daily_byte_quota = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class CommunityWithRoleSerializer(CommunityOutputSerializer):
    role = serializers.CharField(allow_blank=True, help_text="The caller's role; empty for visitors.")


class CommunityInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    slug = serializers.SlugField(max_length=60, required=False)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    visibility = serializers.ChoiceField(choices=CommunityVisibility.choices, required=False)
    daily_file_quota = serializers.IntegerField(min_value=0, required=False)
    daily_byte_quota = serializers.IntegerField(min_value=0, required=False)


class CommunityUpdateSerializer(CommunityInputSerializer):
    name = serializers.CharField(max_length=100, required=False)


class MemberSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(choices=Role.choices)
    trusted = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class MemberUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    trusted = serializers.BooleanField(required=False)


class InvitationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    role = serializers.ChoiceField(choices=Role.choices)
    label = serializers.CharField()
    expires_at = serializers.DateTimeField()
    max_uses = serializers.IntegerField()
    uses = serializers.IntegerField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class InvitationCreatedSerializer(InvitationSerializer):
    token = serializers.CharField(help_text="Shown once: only its hash is kept.")
    url = serializers.CharField(help_text="The link to hand out; shown once.")


class InvitationInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices, help_text="curator, contributor or viewer (never owner).")
    expires_at = serializers.DateTimeField(required=False)
    max_uses = serializers.IntegerField(required=False, min_value=1, max_value=communities.MAX_INVITATION_USES)
    label = serializers.CharField(required=False, allow_blank=True, max_length=100)


class QueuePhotoSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    gallery = serializers.UUIDField()
    gallery_title = serializers.CharField()
    original_filename = serializers.CharField()
    contributor = serializers.CharField()
    featured = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    thumbnail_url = serializers.CharField()


QueuePageSerializer = inline_serializer(
    "QueuePage",
    fields={
        "count": serializers.IntegerField(),
        "next": serializers.CharField(allow_null=True),
        "by_contributor": serializers.ListField(child=serializers.DictField()),
        "results": QueuePhotoSerializer(many=True),
    },
)


class QueueActionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["approve", "reject", "move", "cover", "feature", "unfeature"])
    photos = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=curation.MAX_BULK)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=curation.MAX_REASON)
    gallery = serializers.UUIDField(required=False)


QueueActionResultSerializer = inline_serializer("QueueActionResult", fields={"done": serializers.IntegerField()})


# --- Helpers -------------------------------------------------------------------------------------


def _community(request: Request, community_id: uuid.UUID) -> access.CommunityAccess:
    return access.open_community(request.user, pk=community_id)


def _with_role(seen: access.CommunityAccess) -> dict:
    data = dict(CommunityOutputSerializer(seen.community).data)
    data["role"] = seen.role
    return data


def _member(seen: access.CommunityAccess, member_id: int) -> Membership:
    member = Membership.objects.filter(community=seen.community, pk=member_id).select_related("user").first()
    if member is None:
        raise NotFound("This person is not a member of the community.")
    return member


TAG = ["communities"]


# --- Communities ---------------------------------------------------------------------------------


class CommunityListCreateApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="My communities",
        description="The communities the caller belongs to, with their role (superusers: every community).",
        responses={200: CommunityWithRoleSerializer(many=True), **errors(401)},
        tags=TAG,
    )
    def get(self, request: Request) -> Response:
        roles = dict(Membership.objects.filter(user=request.user).values_list("community_id", "role"))
        if request.user.is_superuser:
            rows = Community.objects.all()
        else:
            rows = Community.objects.filter(pk__in=list(roles))
        out = []
        for community in rows.order_by("name")[:500]:
            data = dict(CommunityOutputSerializer(community).data)
            data["role"] = roles.get(community.pk, "")
            out.append(data)
        return Response(out)

    @extend_schema(
        summary="Create a community",
        description="Photographers (staff) create communities and become their first owner.",
        request=CommunityInputSerializer,
        responses={201: CommunityWithRoleSerializer, **errors(400, 401, 403)},
        tags=TAG,
    )
    def post(self, request: Request) -> Response:
        data = CommunityInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        community = communities.community_create(owner=request.user, **data.validated_data)
        seen = access.open_community(request.user, pk=community.pk)
        return Response(_with_role(seen), status=status.HTTP_201_CREATED)


class CommunityDetailApi(APIView):
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]

    @extend_schema(
        summary="Read a community",
        description="Listed and unlisted communities for anyone; members-only ones for their members (404 otherwise).",
        responses={200: CommunityWithRoleSerializer, **errors(404)},
        auth=ANYONE,
        tags=TAG,
    )
    def get(self, request: Request, community_id: uuid.UUID) -> Response:
        return Response(_with_role(_community(request, community_id)))

    @extend_schema(
        summary="Change a community",
        description="Owners only.",
        request=CommunityUpdateSerializer,
        responses={200: CommunityWithRoleSerializer, **errors(400, 401, 403, 404)},
        tags=TAG,
    )
    def patch(self, request: Request, community_id: uuid.UUID) -> Response:
        seen = _community(request, community_id)
        data = CommunityUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        by = None if request.user.is_superuser and not seen.is_owner else seen.membership
        if by is None and not request.user.is_superuser:
            raise access.CommunityForbidden("Only the community's owners can change it.")
        communities.community_update(community=seen.community, by=by, **data.validated_data)
        return Response(_with_role(_community(request, community_id)))


# --- Members -------------------------------------------------------------------------------------


class MemberListApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Members of a community",
        description="For its members (403 for visitors of a listed community, 404 for outsiders of a members-only one).",
        responses={200: MemberSerializer(many=True), **errors(401, 403, 404)},
        tags=TAG,
    )
    def get(self, request: Request, community_id: uuid.UUID) -> Response:
        seen = _community(request, community_id)
        access.require_member(seen)
        rows = Membership.objects.filter(community=seen.community).select_related("user").order_by("user__username")
        return Response(MemberSerializer(rows, many=True).data)


class MemberDetailApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Change a member's role or trust",
        description="Curators change contributors and viewers; owners everyone; the last owner stays (409).",
        request=MemberUpdateSerializer,
        responses={200: MemberSerializer, **errors(400, 401, 403, 404, 409)},
        tags=TAG,
    )
    def patch(self, request: Request, community_id: uuid.UUID, member_id: int) -> Response:
        seen = _community(request, community_id)
        access.require_curator(seen)
        data = MemberUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data:
            raise InvalidInput("Send a role or trusted.")
        member = communities.membership_change(
            membership=_member(seen, member_id), by=seen.membership, **data.validated_data
        )
        return Response(MemberSerializer(member).data)

    @extend_schema(
        summary="Remove a member (or leave)",
        description="Their access ends at once. Anyone may remove themselves; curators remove contributors and "
        "viewers, owners anyone; the last owner stays (409).",
        responses={204: None, **errors(401, 403, 404, 409)},
        tags=TAG,
    )
    def delete(self, request: Request, community_id: uuid.UUID, member_id: int) -> Response:
        seen = _community(request, community_id)
        member = _member(seen, member_id)
        if not (seen.membership and seen.membership.pk == member.pk):
            access.require_curator(seen)
        communities.membership_remove(membership=member, by=seen.membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Invitations ---------------------------------------------------------------------------------


class InvitationListCreateApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Invitations of a community",
        description="For curators and owners. Tokens are never listed: only their hashes are kept.",
        responses={200: InvitationSerializer(many=True), **errors(401, 403, 404)},
        tags=TAG,
    )
    def get(self, request: Request, community_id: uuid.UUID) -> Response:
        seen = _community(request, community_id)
        access.require_curator(seen)
        rows = Invitation.objects.filter(community=seen.community)[:500]
        return Response(InvitationSerializer(rows, many=True).data)

    @extend_schema(
        summary="Make an invitation",
        description="Role curator (owners only), contributor or viewer; expiry within 90 days (default 7); 1 to "
        "1000 uses (default 1). The token and the link are in this answer only.",
        request=InvitationInputSerializer,
        responses={201: InvitationCreatedSerializer, **errors(400, 401, 403, 404)},
        tags=TAG,
    )
    def post(self, request: Request, community_id: uuid.UUID) -> Response:
        seen = _community(request, community_id)
        access.require_curator(seen)
        data = InvitationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation, token = communities.invitation_create(
            community=seen.community, by=seen.membership, created_by=request.user, **data.validated_data
        )
        out = dict(InvitationSerializer(invitation).data)
        out["token"] = token
        out["url"] = request.build_absolute_uri(reverse("communities:join", args=[token]))
        return Response(out, status=status.HTTP_201_CREATED)


class InvitationDetailApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Revoke an invitation",
        description="The link stops working at once (its page says it was withdrawn). Idempotent.",
        responses={200: InvitationSerializer, **errors(401, 403, 404)},
        tags=TAG,
    )
    def delete(self, request: Request, community_id: uuid.UUID, invitation_id: uuid.UUID) -> Response:
        seen = _community(request, community_id)
        access.require_curator(seen)
        invitation = Invitation.objects.filter(community=seen.community, pk=invitation_id).first()
        if invitation is None:
            raise NotFound("There is no such invitation.")
        invitation = communities.invitation_revoke(invitation=invitation, by=seen.membership)
        return Response(InvitationSerializer(invitation).data)


class InvitationAcceptApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Accept an invitation",
        description="The caller becomes a member with the invitation's role (or keeps a higher one). 410 for an "
        "expired, used-up or revoked invitation (`code` says which); 404 for an unknown one. Throttled per address.",
        request=None,
        responses={200: CommunityWithRoleSerializer, **errors(401, 404, 410, 429)},
        tags=TAG,
    )
    def post(self, request: Request, token: str) -> Response:
        access.throttle_join(request)
        membership = communities.invitation_accept(token=token, user=request.user)
        return Response(_with_role(access.open_community(request.user, pk=membership.community_id)))


# --- The curation queue --------------------------------------------------------------------------


class QueueApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Photos waiting for a curator",
        description="Across the community's galleries, oldest first; keyset pages (`next` is the next page's "
        "address). Curators and owners only.",
        parameters=[
            OpenApiParameter("cursor", OpenApiTypes.STR, description="From `next`; a damaged one is a 400."),
            OpenApiParameter("limit", OpenApiTypes.INT, description="1 to 200, default 50."),
            OpenApiParameter("gallery", OpenApiTypes.UUID, description="Only this gallery's photos."),
        ],
        responses={200: QueuePageSerializer, **errors(400, 401, 403, 404)},
        tags=TAG,
    )
    def get(self, request: Request, community_id: uuid.UUID) -> Response:
        seen = _community(request, community_id)
        access.require_curator(seen)
        try:
            limit = int(request.query_params.get("limit", curation.QUEUE_PAGE))
        except ValueError:
            raise InvalidInput("limit must be a whole number from 1 to 200.") from None
        gallery_id = request.query_params.get("gallery") or None
        if gallery_id:
            try:
                gallery_id = uuid.UUID(gallery_id)
            except ValueError:
                raise InvalidInput("gallery must be a gallery id.") from None
        page = curation.queue_page(
            seen.community, cursor=request.query_params.get("cursor", ""), limit=limit, gallery_id=gallery_id
        )
        results = []
        for photo in page.photos:
            pic = picture(photo, layout="tiles")
            results.append(
                {
                    "id": photo.pk,
                    "gallery": photo.gallery_id,
                    "gallery_title": photo.gallery.title,
                    "original_filename": photo.original_filename,
                    "contributor": photo.contributor,
                    "featured": photo.featured,
                    "created_at": photo.created_at,
                    "thumbnail_url": pic.src,
                }
            )
        next_url = None
        if page.next_cursor:
            query = request.query_params.copy()
            query["cursor"] = page.next_cursor
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response(
            {
                "count": page.total,
                "next": next_url,
                "by_contributor": page.by_contributor,
                "results": QueuePhotoSerializer(results, many=True).data,
            }
        )

    @extend_schema(
        summary="Act on waiting photos",
        description="`approve`, `reject` (with a `reason`, kept for the contributor; the photos are deleted), "
        "`move` (to another `gallery` of the community), `cover` (one photo; approves it), `feature`, "
        "`unfeature`. Through the same services as the admin. A photo outside the community is a 404.",
        request=QueueActionSerializer,
        responses={200: QueueActionResultSerializer, **errors(400, 401, 403, 404)},
        tags=TAG,
    )
    def post(self, request: Request, community_id: uuid.UUID) -> Response:
        seen = _community(request, community_id)
        access.require_curator(seen)
        data = QueueActionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        action, ids = data.validated_data["action"], data.validated_data["photos"]
        community = seen.community
        if action == "approve":
            done = curation.queue_approve(community=community, photo_ids=ids)
        elif action == "reject":
            done = curation.queue_reject(
                community=community, photo_ids=ids, reason=data.validated_data.get("reason", ""), by=request.user
            )
        elif action == "move":
            if "gallery" not in data.validated_data:
                raise InvalidInput("Say which gallery to move the photos to.")
            done = curation.queue_move(community=community, photo_ids=ids, to_gallery_id=data.validated_data["gallery"])
        elif action == "cover":
            if len(ids) != 1:
                raise InvalidInput("Choose exactly one photo as the cover.")
            curation.queue_cover(community=community, photo_id=ids[0])
            done = 1
        else:
            done = curation.queue_feature(community=community, photo_ids=ids, featured=action == "feature")
        return Response({"done": done})


# --- Galleries of a community --------------------------------------------------------------------


class CommunityGallerySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    slug = serializers.CharField()
    visibility = serializers.CharField()
    photo_count = serializers.IntegerField()
    url = serializers.CharField(source="get_absolute_url")
    created_at = serializers.DateTimeField()


class CommunityGalleryInputSerializer(serializers.Serializer):
    gallery = serializers.UUIDField()
    visibility = serializers.ChoiceField(
        choices=["public", "unlisted", "private", "members"], required=False, help_text="Default: unchanged."
    )
    remove = serializers.BooleanField(required=False, default=False, help_text="Take the gallery out instead.")


class CommunityGalleriesApi(APIView):
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]

    @extend_schema(
        summary="Galleries of a community",
        description="The ones this caller may see (the same policy as every gallery door), newest first.",
        responses={200: CommunityGallerySerializer(many=True), **errors(404)},
        auth=ANYONE,
        tags=TAG,
    )
    def get(self, request: Request, community_id: uuid.UUID) -> Response:
        seen = _community(request, community_id)
        rows = Gallery.objects.visible_to(request.user).filter(community=seen.community).order_by("-created_at")
        return Response(CommunityGallerySerializer(rows[:500], many=True).data)

    @extend_schema(
        summary="Put a gallery into the community (or take it out)",
        description="For a photographer who may edit the gallery and curates the community (403 otherwise; "
        "404 for a gallery they may not edit). `visibility: members` shows it to members only.",
        request=CommunityGalleryInputSerializer,
        responses={200: CommunityGallerySerializer, **errors(400, 401, 403, 404)},
        tags=TAG,
    )
    def post(self, request: Request, community_id: uuid.UUID) -> Response:
        seen = _community(request, community_id)
        if not request.user.is_superuser:
            access.require_curator(seen)
        data = CommunityGalleryInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        gallery = Gallery.objects.editable_by(request.user).alive().filter(pk=data.validated_data["gallery"]).first()
        if gallery is None:
            raise NotFound("There is no such gallery among yours.")
        remove = data.validated_data["remove"]
        if remove and gallery.community_id != seen.community.pk:
            raise InvalidInput("This gallery is not in this community.")
        gallery = curation.gallery_attach(
            gallery=gallery,
            community=None if remove else seen.community,
            visibility=data.validated_data.get("visibility"),
        )
        return Response(CommunityGallerySerializer(gallery).data)
