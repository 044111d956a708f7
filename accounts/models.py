from __future__ import annotations

from django.contrib.auth.models import AbstractUser
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
        super().save(*args, **kwargs)

    @property
    def is_photographer(self) -> bool:
        """Staff users own galleries; superusers manage everybody's."""
        return self.is_active and (self.is_staff or self.is_superuser)
