from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.base_session import AbstractBaseSession
from django.core.validators import MinValueValidator, URLValidator
from django.db import models
from django.db.models import F, Q


class User(AbstractUser):
    """A person who signs in: superusers see everything, staff users their own galleries."""

    email = models.EmailField("email address", unique=True, blank=True, null=True)
    # Signed up through a community invitation: a member, never staff (the constraint holds for
    # every door, the admin included).
    invited = models.BooleanField(default=False, editable=False)

    class Meta:
        db_table = "accounts_user"
        constraints = [
            models.CheckConstraint(
                condition=Q(invited=False) | Q(is_staff=False, is_superuser=False),
                name="user_invited_never_staff",
                violation_error_message="An account made through a community invitation can never be staff.",
            )
        ]

    def save(self, *args, **kwargs) -> None:
        # Blank emails are stored as NULL so the unique constraint allows many users without one.
        if not self.email:
            self.email = None
        else:
            self.email = self.__class__.objects.normalize_email(self.email).lower()
        # Every door that changes a password (admin forms, `changepassword`, set_password + save
        # in code) ends here with Django's `_password` set; a hasher upgrade on login clears it
        # first, so it does not count. This is the one place all doors share, the same hook
        # Django uses for its own password_changed(), so the sign-out cannot be forgotten.
        password_changed = not self._state.adding and (
            self._password is not None or getattr(self, "_password_made_unusable", False)
        )
        super().save(*args, **kwargs)
        if password_changed:
            self._password_made_unusable = False
            self.sign_out_everywhere()

    def set_unusable_password(self) -> None:
        super().set_unusable_password()
        self._password_made_unusable = True

    def sign_out_everywhere(self) -> None:
        """End every session and delete every API token of this user.

        Called when the password changes. A view that keeps its own session alive afterwards
        (Django's password change view) does so with update_session_auth_hash, which saves the
        session under a new key.
        """
        from knox.models import AuthToken

        AuthToken.objects.filter(user=self).delete()
        Session.objects.filter(user=self).delete()

    @property
    def is_photographer(self) -> bool:
        """Staff users own galleries; superusers manage everybody's. Inactive users are neither.

        The one rule: every door asks it through accounts.permissions.
        """
        return bool(self.is_active and (self.is_staff or self.is_superuser))

    @property
    def is_manager(self) -> bool:
        """Superusers see and change every gallery."""
        return bool(self.is_active and self.is_superuser)


class Session(AbstractBaseSession):
    """A browser session that knows whose it is, so a password change can end them all.

    Django's own session table stores the user only inside the encoded data; finding one
    user's sessions there would mean decoding every row. (SESSION_ENGINE = "accounts.sessions")
    """

    # No database constraint: a request in flight may still save the session of a user being
    # deleted; the ORM's cascade removes the rows when the user goes.
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, db_constraint=False)

    class Meta(AbstractBaseSession.Meta):
        db_table = "accounts_session"

    @classmethod
    def get_session_store_class(cls):
        from accounts.sessions import SessionStore

        return SessionStore


class ThrottleCounter(models.Model):
    """One throttle counter (config/throttle.py, database store): hits in the window until expires_at.

    Lives here because a model needs an app and `config` is not one; accounts is the lowest app,
    which every other app already depends on. Rows are written only with atomic SQL
    (INSERT ... ON CONFLICT DO UPDATE ... RETURNING), never with save().
    """

    key = models.CharField(max_length=200, primary_key=True)
    hits = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "accounts_throttlecounter"

    def __str__(self) -> str:
        return f"{self.key}: {self.hits} until {self.expires_at:%H:%M:%S}"


class BrandQuerySet(models.QuerySet):
    def for_owner_id(self, owner_id: object) -> Brand | None:
        """The brand of the user with this id, or None: one query, used by every page and mail."""
        if not owner_id:
            return None
        return self.filter(owner_id=owner_id).first()


class Brand(models.Model):
    """A photographer's studio as clients see it: on their galleries, shared pages, mails and ZIP names.

    One per user. Written only through accounts.services.brand_update, which checks the accent's
    contrast and the logo's bytes. Without one, client pages keep the calm Contact Sheet look.
    """

    owner = models.OneToOneField(User, on_delete=models.CASCADE, related_name="brand")
    studio_name = models.CharField(
        max_length=80, blank=True, help_text="Shown in place of “Contact Sheet” on your galleries and in mails."
    )
    # A key in the media storage (brands/ab/cd/<sha256>.webp): the logo as redrawn by accounts.logos.
    logo_key = models.CharField(max_length=200, blank=True, editable=False)
    logo_width = models.PositiveIntegerField(default=0, editable=False)
    logo_height = models.PositiveIntegerField(default=0, editable=False)
    accent = models.CharField(
        "accent colour",
        max_length=7,
        blank=True,
        help_text="Hex, like #7a4b1f; it must reach a contrast of 4.5:1 with the page (WCAG AA). Empty: the default.",
    )
    contact_email = models.EmailField(blank=True, help_text="Shown to clients in mails about your galleries.")
    website = models.URLField(
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="Your studio's name and logo link here on client pages.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = BrandQuerySet.as_manager()

    class Meta:
        db_table = "accounts_brand"
        verbose_name = "studio brand"
        verbose_name_plural = "studio brand"

    def __str__(self) -> str:
        return self.studio_name or f"Brand of {self.owner}"

    @property
    def logo_url(self) -> str:
        """Where the logo is served (accounts.views.brand_logo): named by its content, so cached for good."""
        if not self.logo_key:
            return ""
        from django.urls import reverse

        return reverse("brand-logo", args=[self.logo_key.rsplit("/", 1)[-1]])


# --- Communities -------------------------------------------------------------------------------
# A club, crew, school or team: members with roles drop photos, curators choose, everyone browses.
# Writes go through accounts.communities (services); who sees a community's galleries is decided
# by the one access policy (sharing.access) with the membership rows below.


class CommunityVisibility(models.TextChoices):
    LISTED = "listed", "Listed (anyone can see the community page)"
    UNLISTED = "unlisted", "Unlisted (anyone with the address)"
    MEMBERS = "members", "Members only (outsiders get “not found”)"


class Role(models.TextChoices):
    """A member's role, from the most to the least powerful (see ROLE_RANK)."""

    OWNER = "owner", "Owner"
    CURATOR = "curator", "Curator"
    CONTRIBUTOR = "contributor", "Contributor"
    VIEWER = "viewer", "Viewer"


ROLE_RANK = {Role.VIEWER: 0, Role.CONTRIBUTOR: 1, Role.CURATOR: 2, Role.OWNER: 3}


class CommunityQuerySet(models.QuerySet):
    def visible_to(self, user: object) -> CommunityQuerySet:
        """Communities whose page this user may open: listed and unlisted ones to everyone, members-only
        ones to their members; superusers all (accounts.permissions.community_rule)."""
        from accounts.permissions import community_rule

        return self.filter(community_rule(user))


class Community(models.Model):
    """A community: its galleries, its members and their roles, its invitations."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True, max_length=5000)
    visibility = models.CharField(
        max_length=10, choices=CommunityVisibility.choices, default=CommunityVisibility.MEMBERS
    )
    # A key in the media storage (communities/ab/cd/<sha256>.webp): the avatar as redrawn by accounts.logos.
    avatar_key = models.CharField(max_length=200, blank=True, editable=False)
    avatar_width = models.PositiveIntegerField(default=0, editable=False)
    avatar_height = models.PositiveIntegerField(default=0, editable=False)
    # Per member and rolling day (24 hours): what a contributor may drop; 0 = no drops at all.
    daily_file_quota = models.PositiveIntegerField(
        "files per member per day", default=300, help_text="How many files one member may drop in 24 hours."
    )
    daily_byte_quota = models.BigIntegerField(
        "bytes per member per day",
        default=5 * 1024**3,
        validators=[MinValueValidator(0)],
        help_text="How many bytes one member may drop in 24 hours.",
    )
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CommunityQuerySet.as_manager()

    class Meta:
        db_table = "accounts_community"
        verbose_name_plural = "communities"
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=~Q(name=""), name="community_name_not_empty")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("communities:detail", kwargs={"slug": self.slug})

    @property
    def avatar_url(self) -> str:
        if not self.avatar_key:
            return ""
        from django.urls import reverse

        return reverse("communities:avatar", args=[self.avatar_key.rsplit("/", 1)[-1]])


class Membership(models.Model):
    """One user in one community with one role; trusted members' drops skip the curation queue."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.VIEWER)
    trusted = models.BooleanField(default=False, help_text="Their photos are shown at once, without a curator.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "accounts_membership"
        ordering = ["community", "user__username"]
        constraints = [models.UniqueConstraint(fields=["user", "community"], name="membership_unique_user_community")]
        indexes = [models.Index(fields=["community", "role"], name="membership_community_role")]

    def __str__(self) -> str:
        return f"{self.user} in {self.community} ({self.get_role_display()})"

    @property
    def can_curate(self) -> bool:
        return self.role in (Role.OWNER, Role.CURATOR)

    @property
    def can_contribute(self) -> bool:
        return self.role != Role.VIEWER

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER


class Invitation(models.Model):
    """A link that makes whoever opens it a member with `role`: limited in time and uses, revocable.

    Only the SHA-256 of the token is stored: the link is shown once, when it is made; a leaked
    database gives nobody a working link.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.VIEWER)
    label = models.CharField(max_length=100, blank=True, help_text="Who it is for (shown to the community's curators).")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField()
    max_uses = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    uses = models.PositiveIntegerField(default=0, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "accounts_invitation"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(role="owner"), name="invitation_never_owner"),
            models.CheckConstraint(condition=Q(uses__lte=F("max_uses")), name="invitation_uses_within_max"),
        ]

    def __str__(self) -> str:
        return f"Invitation to {self.community} as {self.get_role_display()}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        from django.utils import timezone

        return self.expires_at <= timezone.now()

    @property
    def is_used_up(self) -> bool:
        return self.uses >= self.max_uses

    @property
    def status(self) -> str:
        if self.is_revoked:
            return "revoked"
        if self.is_expired:
            return "expired"
        if self.is_used_up:
            return "used up"
        return "open"


class Rejection(models.Model):
    """A photo a curator turned down, and why: the photo is deleted, this note stays for its contributor."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="rejections")
    contributor = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    gallery_title = models.CharField(max_length=100)
    original_filename = models.CharField(max_length=255, blank=True)
    reason = models.CharField(max_length=500)
    rejected_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "accounts_rejection"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.original_filename or 'A photo'} rejected in {self.community}"
