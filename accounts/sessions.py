"""Database sessions that record their user (SESSION_ENGINE = "accounts.sessions").

Used so that a password change can end every session of that user (User.sign_out_everywhere).
"""

from __future__ import annotations

from django.contrib import auth
from django.contrib.sessions.backends.db import SessionStore as DBStore


class SessionStore(DBStore):
    @classmethod
    def get_model_class(cls):
        from accounts.models import Session

        return Session

    def create_model_instance(self, data: dict):
        obj = super().create_model_instance(data)
        user_id = data.get(auth.SESSION_KEY)
        try:
            obj.user_id = int(user_id) if user_id is not None else None
        except (TypeError, ValueError):
            obj.user_id = None
        return obj
