"""A photo as the API shows it to one viewer: the one presenter every app's API uses.

Public on purpose: uploads and sharing answer with photos too, and import this instead of another
app's views.
"""

from __future__ import annotations

from rest_framework.request import Request

from galleries.api.serializers import PhotoOutputSerializer
from galleries.models import Gallery, Photo
from galleries.privacy import FieldRule


def viewer_rule(gallery: Gallery, *, can_edit: bool) -> FieldRule:
    """The field rule for a viewer of this gallery (can_edit: the owner or an admin)."""
    return FieldRule.for_owner() if can_edit else FieldRule(show_metadata=gallery.show_metadata)


def photo_out(request: Request, photo: Photo, *, can_edit: bool) -> dict:
    """One photo as the field rule lets this viewer see it (can_edit: the owner or an admin)."""
    # The owner's rule needs no gallery: no query for it.
    rule = FieldRule.for_owner() if can_edit else viewer_rule(photo.gallery, can_edit=False)
    return PhotoOutputSerializer(photo, context={"request": request, "rule": rule}).data
