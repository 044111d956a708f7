"""Writes of communities: the community itself, its members, its invitations, its members' quotas.

Every door (member pages, the API, the admin) calls these. They check the acting member's right
first (curation is for owners and curators, ownership for owners) and raise domain errors with a
message for a person: Forbidden (403) for a member whose role does not allow it, Conflict (409)
for a change that would leave a community without an owner, InvalidInput (400) for bad values.
Whether the actor may see the community at all (404 otherwise) is the door's first question,
asked of the access policy (sharing.access.open_community).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import IO, Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from accounts import logos
from accounts.models import ROLE_RANK, Community, Invitation, Membership, Role, User
from config.exceptions import Conflict, Gone, InvalidInput, NotFound, ServiceError

log = logging.getLogger(__name__)

COMMUNITY_FIELDS = ("name", "slug", "description", "visibility", "daily_file_quota", "daily_byte_quota")
MAX_INVITATION_DAYS = 90
MAX_INVITATION_USES = 1000


class Forbidden(ServiceError):
    """A member asked for something their role does not allow."""

    status_code = 403
    code = "permission_denied"


def avatar_key(sha256: str) -> str:
    """Where an avatar's bytes live in the media storage: by content, apart from photos and logos."""
    return f"communities/{sha256[:2]}/{sha256[2:4]}/{sha256}.webp"


def _fields_checked(community: Community, fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(COMMUNITY_FIELDS)
    if unknown:
        raise InvalidInput(f"A community has no field {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        if isinstance(value, str):
            value = value.strip()
        setattr(community, name, value)
    if not community.slug:
        community.slug = slugify(community.name)[:60]
    try:
        community.full_clean(exclude=["created_by"], validate_unique=False)
    except ValidationError as exc:
        messages = []
        for name, errors in exc.message_dict.items():
            label = Community._meta.get_field(name).verbose_name.capitalize() if name != "__all__" else "Community"
            messages.append(f"{label}: {' '.join(errors)}")
        raise InvalidInput(" ".join(messages), code="fields") from None


def _store_avatar(community: Community, avatar: IO[bytes]) -> None:
    picture = logos.prepare_logo(avatar)  # the same content check as logos: PNG, WebP, JPEG; redrawn
    key = avatar_key(hashlib.sha256(picture.data).hexdigest())
    if not default_storage.exists(key):
        default_storage.save(key, ContentFile(picture.data))
    community.avatar_key, community.avatar_width, community.avatar_height = key, picture.width, picture.height


@transaction.atomic
def community_create(*, owner: User, avatar: IO[bytes] | None = None, **fields: Any) -> Community:
    """Create a community with `owner` as its first owner (photographers and superusers create them).

    Raises InvalidInput (fields, a taken address), TooLarge or UnsupportedType (the avatar)."""
    if not (owner.is_active and (owner.is_staff or owner.is_superuser)):
        raise Forbidden("Only photographers can create communities.")
    community = Community(created_by=owner)
    _fields_checked(community, fields)
    if avatar is not None:
        _store_avatar(community, avatar)
    try:
        with transaction.atomic():
            community.save()
    except IntegrityError:
        raise InvalidInput(f"The address “{community.slug}” is taken; choose another.", code="slug") from None
    Membership.objects.create(user=owner, community=community, role=Role.OWNER)
    return community


@transaction.atomic
def community_update(
    *, community: Community, by: Membership | None, avatar: IO[bytes] | None = None, **fields: Any
) -> Community:
    """Change a community's name, description, visibility, quotas or avatar: its owners only
    (`by` None: a superuser through the admin or API)."""
    if by is not None and not by.is_owner:
        raise Forbidden("Only the community's owners can change it.")
    community = Community.objects.select_for_update().get(pk=community.pk)
    _fields_checked(community, fields)
    if avatar is not None:
        _store_avatar(community, avatar)
    try:
        with transaction.atomic():
            community.save()
    except IntegrityError:
        raise InvalidInput(f"The address “{community.slug}” is taken; choose another.", code="slug") from None
    return community


# --- Members ---------------------------------------------------------------------------------------


def _check_may_manage(by: Membership | None, target_role: str, new_role: str | None = None) -> None:
    """Curators manage contributors and viewers; owners manage everyone. `by` None: a superuser."""
    if by is None:
        return
    if not by.can_curate:
        raise Forbidden("Only the community's curators and owners can manage members.")
    if by.is_owner:
        return
    for role in (target_role, new_role):
        if role is not None and ROLE_RANK[role] >= ROLE_RANK[Role.CURATOR]:
            raise Forbidden("Only owners can appoint, change or remove curators and owners.")


def _check_keeps_an_owner(membership: Membership, new_role: str | None) -> None:
    if membership.role != Role.OWNER or new_role == Role.OWNER:
        return
    owners = Membership.objects.filter(community_id=membership.community_id, role=Role.OWNER)
    if owners.exclude(pk=membership.pk).count() == 0:
        raise Conflict("A community needs at least one owner: make someone else an owner first.", code="last_owner")


@transaction.atomic
def membership_change(
    *, membership: Membership, by: Membership | None, role: str | None = None, trusted: bool | None = None
) -> Membership:
    """Change a member's role or trust. Curators change contributors and viewers (to either role, and
    their trust); owners change everyone; the last owner stays an owner (409)."""
    if role is not None and role not in Role.values:
        raise InvalidInput(f"Unknown role “{role}”: choose one of {', '.join(Role.values)}.", code="role")
    # Lock the community's owner rows so two owners demoting each other cannot both succeed.
    list(Membership.objects.select_for_update().filter(community_id=membership.community_id, role=Role.OWNER))
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    _check_may_manage(by, membership.role, role)
    if role is not None:
        _check_keeps_an_owner(membership, role)
        membership.role = role
    if trusted is not None:
        membership.trusted = bool(trusted)
    membership.save()
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, by: Membership | None) -> None:
    """Remove a member: their access ends with this commit (every door asks the membership rows).

    Anyone may leave; curators remove contributors and viewers, owners anyone; the last owner
    stays (409)."""
    list(Membership.objects.select_for_update().filter(community_id=membership.community_id, role=Role.OWNER))
    membership = Membership.objects.select_for_update().filter(pk=membership.pk).first()
    if membership is None:
        raise NotFound("This person is not a member any more.")
    leaving = by is not None and by.pk == membership.pk
    if not leaving:
        _check_may_manage(by, membership.role)
    _check_keeps_an_owner(membership, None)
    membership.delete()


# --- Invitations -----------------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def invitation_create(
    *,
    community: Community,
    by: Membership | None,
    role: str = Role.VIEWER,
    expires_at: datetime | None = None,
    max_uses: int = 1,
    label: str = "",
    created_by: User | None = None,
) -> tuple[Invitation, str]:
    """Make an invitation link; returns it and its token (shown once: only its hash is stored).

    Curators invite contributors and viewers, owners curators too; nobody invites owners.
    Expiry within MAX_INVITATION_DAYS (default 7 days), 1 to MAX_INVITATION_USES uses."""
    if role not in Role.values or role == Role.OWNER:
        raise InvalidInput("An invitation makes a curator, contributor or viewer.", code="role")
    _check_may_manage(by, role)
    now = timezone.now()
    expires_at = expires_at or now + timedelta(days=7)
    if expires_at <= now:
        raise InvalidInput("The expiry must be in the future.", code="expires_at")
    if expires_at > now + timedelta(days=MAX_INVITATION_DAYS):
        raise InvalidInput(f"An invitation lasts at most {MAX_INVITATION_DAYS} days.", code="expires_at")
    if isinstance(max_uses, bool) or not isinstance(max_uses, int) or not 1 <= max_uses <= MAX_INVITATION_USES:
        raise InvalidInput(f"Uses must be a whole number from 1 to {MAX_INVITATION_USES}.", code="max_uses")
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        community=community,
        role=role,
        label=(label or "").strip()[:100],
        token_hash=hash_token(token),
        expires_at=expires_at,
        max_uses=max_uses,
        created_by=created_by or (by.user if by else None),
    )
    return invitation, token


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, by: Membership | None) -> Invitation:
    """Switch an invitation off for good (idempotent): the link shows the “revoked” page from now on."""
    _check_may_manage(by, invitation.role)
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
    return invitation


def invitation_for_token(token: str) -> Invitation:
    """The invitation behind a link, still usable: NotFound when unknown; Gone (code revoked, expired
    or used_up) when it no longer opens. The lookup is by hash: no token comparison leaks timing."""
    if not token or len(token) > 100:
        raise NotFound("This invitation does not exist.")
    invitation = Invitation.objects.select_related("community").filter(token_hash=hash_token(token)).first()
    if invitation is None:
        raise NotFound("This invitation does not exist.")
    if invitation.is_revoked:
        raise Gone("This invitation has been withdrawn. Ask the community for a new one.", code="revoked")
    if invitation.is_expired:
        raise Gone("This invitation has expired. Ask the community for a new one.", code="expired")
    if invitation.is_used_up:
        raise Gone("This invitation has been used as often as it allows. Ask for a new one.", code="used_up")
    return invitation


def _consume(invitation: Invitation) -> None:
    """Count one use, atomically and only while the invitation still opens (races lose with 410)."""
    used = Invitation.objects.filter(
        pk=invitation.pk, revoked_at__isnull=True, expires_at__gt=timezone.now(), uses__lt=F("max_uses")
    ).update(uses=F("uses") + 1)
    if not used:
        raise Gone("This invitation has just been used up or withdrawn. Ask for a new one.", code="used_up")


def _join(user: User, invitation: Invitation) -> tuple[Membership, bool]:
    existing = Membership.objects.select_for_update().filter(user=user, community=invitation.community).first()
    if existing is not None:
        if ROLE_RANK[invitation.role] <= ROLE_RANK[existing.role]:
            return existing, False  # already a member with this role or more: the link is not used
        _consume(invitation)
        existing.role = invitation.role
        existing.save(update_fields=["role", "updated_at"])
        return existing, True
    _consume(invitation)
    return Membership.objects.create(user=user, community=invitation.community, role=invitation.role), True


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    """A signed-in user accepts: they become a member (or move up to the invited role). A member who
    already has that role or more keeps it and the invitation is not used."""
    invitation = invitation_for_token(token)
    if not user.is_active:
        raise NotFound("This invitation does not exist.")
    membership, _ = _join(user, invitation)
    return membership


@transaction.atomic
def invitation_sign_up(*, token: str, username: str, email: str, password: str) -> tuple[User, Membership]:
    """Create an account through an invitation and make it a member. The account is marked invited:
    never staff, never superuser (a database constraint holds it for every door).

    Raises InvalidInput naming the field (username, email, password), Gone/NotFound for the link.
    A taken email gets the same answer as a taken username would not: to keep addresses private,
    it says only that the account cannot be created with these details (sign in instead)."""
    invitation = invitation_for_token(token)
    username = (username or "").strip()
    email = User.objects.normalize_email((email or "").strip()).lower()
    errors: dict[str, str] = {}
    username_field = User._meta.get_field("username")
    try:
        username_field.clean(username, None)
    except ValidationError as exc:
        errors["username"] = " ".join(exc.messages)
    try:
        User._meta.get_field("email").clean(email, None)
        if not email:
            raise ValidationError("Enter your email address (for password resets).")
    except ValidationError as exc:
        errors["email"] = " ".join(exc.messages)
    candidate = User(username=username, email=email)
    try:
        validate_password(password or "", candidate)
    except ValidationError as exc:
        errors["password"] = " ".join(exc.messages)
    if errors:
        raise SignUpInvalid(errors)
    if User.objects.filter(username__iexact=username).exists():
        raise SignUpInvalid({"username": "This username is taken; choose another."})
    if User.objects.filter(email__iexact=email).exists():
        # Do not confirm that the address has an account (issue 15): the same words for anyone.
        raise SignUpInvalid(
            {
                "email": "An account cannot be created with this address. If it is yours, sign in and open the link again."
            }
        )
    user = User(username=username, email=email, invited=True, is_staff=False, is_superuser=False)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise SignUpInvalid({"username": "This username or address cannot be used; choose another."}) from None
    membership, _ = _join(user, invitation)
    return user, membership


class SignUpInvalid(InvalidInput):
    """Sign-up input refused, field by field (`errors`: field -> message)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()), code="fields")
        self.errors = errors
