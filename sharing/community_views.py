"""Member pages: a community and its galleries, "my communities", members, invitations, the curation
queue, and joining through an invitation. Thin views: parse, ask the access policy, call one
service, render (HTMX gets the named fragment).

Every page of a community first asks sharing.access.open_community: unknown communities and, for
non-members, members-only ones are 404. Curation and member management are 403 for members whose
role does not allow them.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from accounts import communities
from accounts.models import ROLE_RANK, Community, CommunityVisibility, Invitation, Membership, Role
from config.exceptions import Gone, NotFound, ServiceError, TooManyRequests
from galleries.models import Gallery, Photo
from galleries.presenters import picture
from sharing import access, curation

_AVATAR_NAME = re.compile(r"[0-9a-f]{64}\.webp")
AVATAR_MAX_AGE = 60 * 60 * 24 * 365
GALLERY_PAGE = 60


def _refuse(
    request: HttpRequest, exc: Exception, *, template: str = "accounts/communities/refused.html"
) -> HttpResponse:
    """A domain error as a page with its status (403, 404, 409, 410, 429...)."""
    status = getattr(exc, "status_code", 400)
    message = getattr(exc, "message", str(exc))
    response = render(request, template, {"message": message, "status": status}, status=status)
    if getattr(exc, "retry_after", None):
        response["Retry-After"] = str(exc.retry_after)
    return response


def _open(request: HttpRequest, slug: str) -> access.CommunityAccess:
    try:
        return access.open_community(request.user, slug=slug)
    except NotFound:
        raise Http404("There is no such community.") from None


# --- The community and its galleries ---------------------------------------------------------------


@login_required
@require_safe
def community_list(request: HttpRequest) -> HttpResponse:
    """My communities: every community I belong to, with my role (one query)."""
    memberships = list(
        Membership.objects.filter(user=request.user).select_related("community").order_by("community__name")
    )
    return render(request, "accounts/communities/community_list.html", {"memberships": memberships})


@require_safe
@vary_on_headers("HX-Request", "HX-Target")
def community_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """The community with the galleries this viewer may see, newest first, a page at a time.

    A constant number of queries whatever the number of galleries or members: the community and the
    viewer's membership, one page of galleries with their cover ids, the covers with their variants.
    """
    seen = _open(request, slug)
    community = seen.community
    try:
        number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        number = 1
    start = (number - 1) * GALLERY_PAGE
    listed = (
        Gallery.objects.visible_to(request.user)
        .filter(community=community)
        .with_cover_id()
        .order_by("-created_at", "-id")
    )
    galleries = list(listed[start : start + GALLERY_PAGE + 1])
    has_next = len(galleries) > GALLERY_PAGE
    galleries = galleries[:GALLERY_PAGE]
    covers = Photo.objects.with_media().in_bulk([g.cover_photo_id for g in galleries if g.cover_photo_id])
    cards = []
    for i, gallery in enumerate(galleries):
        cover = covers.get(gallery.cover_photo_id)
        cards.append({"gallery": gallery, "cover": picture(cover, layout="card", eager=i < 3) if cover else None})
    addable = []
    if (seen.can_curate or request.user.is_superuser) and getattr(request.user, "is_photographer", False):
        # A photographer who curates may put their own galleries in (one query, whatever their number).
        addable = list(
            Gallery.objects.editable_by(request.user)
            .alive()
            .exclude(community=community)
            .order_by("title")
            .only("pk", "title")[:200]
        )
    context = {
        "community": community,
        "seen": seen,
        "addable": addable,
        "cards": cards,
        "page": number,
        "has_next": has_next,
        "has_previous": number > 1,
    }
    template = "accounts/communities/community_detail.html"
    if request.htmx and request.htmx.target == "community-galleries":
        template += "#community-galleries"
    response = render(request, template, context)
    if community.visibility != "listed":
        response["X-Robots-Tag"] = "noindex"
    return response


@require_safe
def community_avatar(request: HttpRequest, name: str) -> FileResponse:
    """A community's avatar, named by the SHA-256 of its bytes (cached for good); served only while a
    community shows it. Not secret: the bytes say nothing a member's page does not."""
    if not _AVATAR_NAME.fullmatch(name):
        raise Http404("No such picture.")
    key = communities.avatar_key(name.removesuffix(".webp"))
    if not Community.objects.filter(avatar_key=key).exists():
        raise Http404("No such picture.")
    try:
        handle = default_storage.open(key, "rb")
    except FileNotFoundError:
        raise Http404("No such picture.") from None
    response = FileResponse(handle, content_type="image/webp")
    response["Cache-Control"] = f"public, max-age={AVATAR_MAX_AGE}, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- Members ---------------------------------------------------------------------------------------


def _members_context(seen: access.CommunityAccess) -> dict:
    members = list(
        Membership.objects.filter(community=seen.community).select_related("user").order_by("role", "user__username")
    )
    return {"community": seen.community, "seen": seen, "members": members, "roles": Role.choices}


@login_required
@vary_on_headers("HX-Request")
def member_list(request: HttpRequest, slug: str) -> HttpResponse:
    """Who is in the community: for members; curators and owners change roles and remove people here."""
    seen = _open(request, slug)
    try:
        access.require_member(seen)
    except access.CommunityForbidden as exc:
        return _refuse(request, exc)
    return render(request, "accounts/communities/member_list.html", _members_context(seen))


def _member_of(seen: access.CommunityAccess, member_id: str) -> Membership:
    member = Membership.objects.filter(community=seen.community, pk=member_id if member_id.isdigit() else 0).first()
    if member is None:
        raise NotFound("This person is not a member of the community.")
    return member


@login_required
@require_POST
def member_change(request: HttpRequest, slug: str, member_id: str) -> HttpResponse:
    """Change a member's role or trust, or remove them (action=remove). Curators and owners; a member
    may remove themselves (leave)."""
    seen = _open(request, slug)
    try:
        member = _member_of(seen, member_id)
        leaving = request.POST.get("action") == "remove" and seen.membership and seen.membership.pk == member.pk
        if not leaving:
            access.require_curator(seen)
        if request.POST.get("action") == "remove":
            communities.membership_remove(membership=member, by=seen.membership)
            if leaving:
                return HttpResponseRedirect(reverse("communities:mine"))
        else:
            trusted = request.POST.get("trusted")
            communities.membership_change(
                membership=member,
                by=seen.membership,
                role=request.POST.get("role") or None,
                trusted=None if trusted is None else trusted in ("1", "true", "on"),
            )
    except (ServiceError, access.CommunityForbidden) as exc:
        if request.htmx and seen.is_member:
            context = _members_context(seen)
            context["error"] = exc.message
            status = exc.status_code
            return render(request, "accounts/communities/member_list.html#members", context, status=status)
        return _refuse(request, exc)
    seen = access.open_community(request.user, pk=seen.community.pk)
    if request.htmx:
        return render(request, "accounts/communities/member_list.html#members", _members_context(seen))
    return HttpResponseRedirect(reverse("communities:members", args=[slug]))


# --- Invitations -----------------------------------------------------------------------------------


def _invitations_context(seen: access.CommunityAccess, **extra) -> dict:
    invitations = list(Invitation.objects.filter(community=seen.community).select_related("created_by")[:200])
    roles = [(value, label) for value, label in Role.choices if value != Role.OWNER]
    return {"community": seen.community, "seen": seen, "invitations": invitations, "roles": roles, **extra}


@login_required
@vary_on_headers("HX-Request")
def invitation_list(request: HttpRequest, slug: str) -> HttpResponse:
    """Curators' invitations: make one (role, expiry in days, uses, who it is for), see and revoke them.
    A new link is shown once, right after it is made: only its hash is kept."""
    seen = _open(request, slug)
    try:
        access.require_curator(seen)
    except access.CommunityForbidden as exc:
        return _refuse(request, exc)
    context = _invitations_context(seen)
    status = 200
    if request.method == "POST":
        try:
            days = int(request.POST.get("days") or 7)
            uses = int(request.POST.get("max_uses") or 1)
        except ValueError:
            context["error"] = "Days and uses must be whole numbers."
            status = 400
        else:
            try:
                if not 1 <= days <= communities.MAX_INVITATION_DAYS:
                    raise communities.InvalidInput(
                        f"An invitation lasts from 1 to {communities.MAX_INVITATION_DAYS} days."
                    )
                _invitation, token = communities.invitation_create(
                    community=seen.community,
                    by=seen.membership,
                    role=request.POST.get("role", Role.VIEWER),
                    expires_at=timezone.now() + timedelta(days=days),
                    max_uses=uses,
                    label=request.POST.get("label", ""),
                )
            except ServiceError as exc:
                context["error"] = exc.message
                status = exc.status_code
            else:
                context = _invitations_context(
                    seen, new_link=request.build_absolute_uri(reverse("communities:join", args=[token]))
                )
    elif request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405)
    template = "accounts/communities/invitation_list.html"
    if request.htmx:
        template += "#invitations"
    return render(request, template, context, status=status)


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, slug: str, invitation_id: str) -> HttpResponse:
    seen = _open(request, slug)
    try:
        access.require_curator(seen)
        try:
            invitation = Invitation.objects.filter(community=seen.community, pk=invitation_id).first()
        except ValidationError:  # a malformed id: not found, like an unknown one
            invitation = None
        if invitation is None:
            raise NotFound("There is no such invitation.")
        communities.invitation_revoke(invitation=invitation, by=seen.membership)
    except (ServiceError, access.CommunityForbidden) as exc:
        return _refuse(request, exc)
    if request.htmx:
        return render(request, "accounts/communities/invitation_list.html#invitations", _invitations_context(seen))
    return HttpResponseRedirect(reverse("communities:invitations", args=[slug]))


def _join_closed(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    response = render(
        request,
        "accounts/communities/join_closed.html",
        {"message": exc.message, "reason": exc.code, "gone": isinstance(exc, Gone)},
        status=exc.status_code,
    )
    response["Referrer-Policy"] = "no-referrer"  # the token is in the address
    return response


def join(request: HttpRequest, token: str) -> HttpResponse:
    """/join/<token>/: an invitation. Signed in: accept it. Otherwise: create an account (never staff)
    or sign in and come back. Expired, used-up or revoked links get a clear page (410); unknown 404.
    POSTs are throttled per address (config.throttle)."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponse(status=405)
    try:
        if request.method == "POST":
            access.throttle_join(request)
        invitation = communities.invitation_for_token(token)
    except ServiceError as exc:
        if isinstance(exc, TooManyRequests):
            return _refuse(request, exc)
        return _join_closed(request, exc)
    community = invitation.community
    context = {"invitation": invitation, "community": community, "errors": {}, "values": {}}
    status = 200
    if request.method == "POST":
        try:
            if request.user.is_authenticated:
                communities.invitation_accept(token=token, user=request.user)
            else:
                user, _ = communities.invitation_sign_up(
                    token=token,
                    username=request.POST.get("username", ""),
                    email=request.POST.get("email", ""),
                    password=request.POST.get("password", ""),
                )
                login(request, user, backend="accounts.backends.CountedModelBackend")
            return HttpResponseRedirect(community.get_absolute_url())
        except communities.SignUpInvalid as exc:
            context["errors"] = exc.errors
            context["values"] = {k: request.POST.get(k, "") for k in ("username", "email")}
            status = 400
        except (Gone, NotFound) as exc:
            return _join_closed(request, exc)
        except ServiceError as exc:
            return _refuse(request, exc)
    else:
        member = access.membership(request.user, community)
        context["already_member"] = member is not None and ROLE_RANK[member.role] >= ROLE_RANK[invitation.role]
    response = render(request, "accounts/communities/join.html", context, status=status)
    # The token is in the address: never sent to other sites; same-origin (not no-referrer) so the
    # form's POST carries an Origin the CSRF check accepts.
    response["Referrer-Policy"] = "same-origin"
    return response


# --- The curation queue ------------------------------------------------------------------------------


def _queue_context(request: HttpRequest, seen: access.CommunityAccess, **extra) -> dict:
    page = curation.queue_page(seen.community, cursor=request.GET.get("after", ""))
    galleries = list(curation.community_galleries(seen.community).order_by("title").only("pk", "title"))
    return {
        "community": seen.community,
        "seen": seen,
        "page": page,
        "cards": [{"photo": p, "pic": picture(p, layout="tiles")} for p in page.photos],
        "galleries": galleries,
        **extra,
    }


QUEUE_ACTIONS = ("approve", "reject", "move", "cover", "feature", "unfeature")


@login_required
@vary_on_headers("HX-Request", "HX-Target")
def queue(request: HttpRequest, slug: str) -> HttpResponse:
    """Pending photos across the community's galleries, oldest first (keyset pages of 50); POST acts
    on the chosen ones (action=approve|reject|move|cover|feature|unfeature, photo=<id>…)."""
    seen = _open(request, slug)
    try:
        access.require_curator(seen)
    except access.CommunityForbidden as exc:
        return _refuse(request, exc)
    notice, error, status = "", "", 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        ids = request.POST.getlist("photo")
        try:
            notice = _act(request, seen, action, ids)
        except ServiceError as exc:
            error, status = exc.message, exc.status_code
    elif request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405)
    try:
        context = _queue_context(request, seen, notice=notice, error=error)
    except ServiceError as exc:
        return _refuse(request, exc)
    template = "accounts/communities/queue.html"
    if request.htmx:
        template += "#queue"
    return render(request, template, context, status=status)


def _act(request: HttpRequest, seen: access.CommunityAccess, action: str, ids: list[str]) -> str:
    community = seen.community
    if action not in QUEUE_ACTIONS:
        raise communities.InvalidInput("Choose what to do: approve, reject, move, cover or feature.")
    if action == "approve":
        done = curation.queue_approve(community=community, photo_ids=ids)
        return f"Approved {done} photo{'s' if done != 1 else ''}."
    if action == "reject":
        done = curation.queue_reject(
            community=community, photo_ids=ids, reason=request.POST.get("reason", ""), by=request.user
        )
        return f"Rejected {done} photo{'s' if done != 1 else ''}."
    if action == "move":
        done = curation.queue_move(community=community, photo_ids=ids, to_gallery_id=request.POST.get("gallery", ""))
        return f"Moved {done} photo{'s' if done != 1 else ''}."
    if action == "cover":
        if len(ids) != 1:
            raise communities.InvalidInput("Choose exactly one photo as the cover.")
        gallery = curation.queue_cover(community=community, photo_id=ids[0])
        return f"The cover of “{gallery.title}” is set."
    done = curation.queue_feature(community=community, photo_ids=ids, featured=action == "feature")
    return f"{'Featured' if action == 'feature' else 'Unfeatured'} {done} photo{'s' if done != 1 else ''}."


# --- The community's settings (owners) ---------------------------------------------------------------

SETTINGS_FIELDS = ("name", "description", "visibility", "daily_file_quota", "daily_byte_quota")


@login_required
def community_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """Owners change the name, description, visibility, avatar and the members' daily quotas."""
    seen = _open(request, slug)
    if not seen.is_owner:
        return _refuse(request, access.CommunityForbidden("Only the community's owners can change its settings."))
    context = {
        "community": seen.community,
        "seen": seen,
        "tab": "settings",
        "visibilities": CommunityVisibility.choices,
    }
    status = 200
    if request.method == "POST":
        fields = {name: request.POST.get(name, "") for name in SETTINGS_FIELDS}
        try:
            for name in ("daily_file_quota", "daily_byte_quota"):
                try:
                    fields[name] = int(fields[name])
                except ValueError:
                    raise communities.InvalidInput("Quotas must be whole numbers.", code="fields") from None
            community = communities.community_update(
                community=seen.community, by=seen.membership, avatar=request.FILES.get("avatar"), **fields
            )
        except ServiceError as exc:
            context["error"], status = exc.message, exc.status_code
            context["values"] = fields
        else:
            return HttpResponseRedirect(reverse("communities:settings", args=[community.slug]) + "?saved=1")
    elif request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405)
    context.setdefault("values", {name: getattr(seen.community, name) for name in SETTINGS_FIELDS})
    context["saved"] = request.GET.get("saved") == "1"
    return render(request, "accounts/communities/community_settings.html", context, status=status)


@login_required
@require_POST
def community_gallery_add(request: HttpRequest, slug: str) -> HttpResponse:
    """A photographer who curates the community puts one of their galleries in, shown to members only
    or with its own visibility."""
    seen = _open(request, slug)
    try:
        if not request.user.is_superuser:
            access.require_curator(seen)
        try:
            gallery = Gallery.objects.editable_by(request.user).alive().filter(pk=request.POST.get("gallery")).first()
        except ValidationError:
            gallery = None
        if gallery is None:
            raise NotFound("There is no such gallery among yours.")
        visibility = "members" if request.POST.get("members_only") else None
        curation.gallery_attach(gallery=gallery, community=seen.community, visibility=visibility)
    except ServiceError as exc:
        return _refuse(request, exc)
    return HttpResponseRedirect(seen.community.get_absolute_url())
