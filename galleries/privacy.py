"""The field rule: what one viewer may see of a photo, asked by every door.

| field                                   | owner, admin | metadata allowed | anyone else |
| variants, title, alt, size, blurhash    | yes          | yes              | yes         |
| original file name, EXIF subset         | yes          | yes              | no          |
| GPS                                     | yes          | no               | no          |
| sha256, processing errors               | yes          | no               | no          |
| original bytes                          | as uploaded  | location removed | location removed |

"Metadata allowed" is decided by the door the viewer came through: a share link's
`show_metadata`, or the gallery's own `show_metadata` for its public or unlisted page. Every
serializer, page, download name and ZIP entry takes a `FieldRule` and asks it; none decides on
its own. A rule also carries the share link it was issued through, so media URLs handed out
through a link die with the link (see galleries.media).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from accounts.models import User
    from galleries.models import Asset, Gallery, Photo


class LinkLike(Protocol):
    """What the rule needs of a share link (sharing.ShareLink; galleries does not import sharing)."""

    pk: object
    show_metadata: bool

    @property
    def grant_key(self) -> str: ...


@dataclass(frozen=True)
class FieldRule:
    owner: bool = False
    show_metadata: bool = False
    link_id: str = ""
    link_grant: str = ""  # changes with the link's password, so a new password ends old media URLs

    @classmethod
    def for_owner(cls) -> FieldRule:
        return cls(owner=True, show_metadata=True)

    @classmethod
    def for_user(cls, user: User, gallery: Gallery) -> FieldRule:
        """Through the gallery's own page or the API: the owner and admins see all, visitors what the gallery allows."""
        if gallery.is_editable_by(user):
            return cls.for_owner()
        return cls(show_metadata=gallery.show_metadata)

    @classmethod
    def for_link(cls, link: LinkLike) -> FieldRule:
        """Through a share link: what the link allows, and media URLs bound to the link."""
        return cls(show_metadata=link.show_metadata, link_id=str(link.pk), link_grant=link.grant_key)

    # --- the questions -----------------------------------------------------------------------

    @property
    def sees_metadata(self) -> bool:
        """Original file names and the EXIF subset."""
        return self.owner or self.show_metadata

    @property
    def sees_location(self) -> bool:
        """GPS, in fields and in the bytes of originals."""
        return self.owner

    @property
    def sees_internals(self) -> bool:
        """The content hash and processing errors."""
        return self.owner

    @property
    def sees_gallery_address(self) -> bool:
        """The gallery's id and slug: never through a share link, where they would outlive the link."""
        return not self.link_id

    def original_filename(self, photo: Photo) -> str | None:
        return photo.original_filename if self.sees_metadata else None

    def exif(self, asset: Asset) -> dict | None:
        return asset.exif if self.sees_metadata else None

    def gps(self, asset: Asset) -> dict | None:
        return asset.gps if self.sees_location else None

    def sha256(self, asset: Asset) -> str | None:
        return asset.sha256 if self.sees_internals else None

    def error(self, asset: Asset) -> str | None:
        return asset.error if self.sees_internals else None

    def cache_part(self) -> str:
        """What of this rule changes a rendered page (for cache keys)."""
        return f"o={int(self.owner)}:m={int(self.show_metadata)}:l={self.link_id}:{self.link_grant}"
