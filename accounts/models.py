from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.base_session import AbstractBaseSession
from django.core.validators import URLValidator
from django.db import models


class User(AbstractUser):
    """A person who signs in: superusers see everything, staff users their own galleries."""

    email = models.EmailField("email address", unique=True, blank=True, null=True)

    class Meta:
        db_table = "accounts_user"

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
