"""`clock` comes from tests/plugins/clock.py; `smtp_server` from tests/plugins/smtp.py."""

from __future__ import annotations


def selection_context(**overrides):
    """A context for the selection_submitted templates, the mail these tests send."""
    return {
        "client_name": "Anna",
        "client_email": "anna@example.com",
        "photo_count": 3,
        "note": "Tom & Ann <b>love</b> these",
        "gallery_title": "Anna & Ben",
        "link_label": "Anna",
        "selection_url": "http://127.0.0.1:8000/admin/sharing/selection/1/change/",
        **overrides,
    }
