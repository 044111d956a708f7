"""Originals as they are handed out: as uploaded to the owner, without location to anyone else.

Location is removed by size-preserving patches (galleries.location): the cleaned file has the
same length and the same bytes outside a few metadata ranges, so it streams from local disk or S3
with ranges and ZIP sizes unchanged, and no second copy is stored. The patches are worked out
once per asset (by the worker, or on first need) and kept on the asset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import IO

from django.core.files.storage import default_storage

from galleries import location
from galleries.models import Asset

__all__ = [
    "Handout",
    "LocationNotRemovable",
    "handout",
    "location_patches",
    "needs_cleaning",
    "open_clean",
    "open_handout",
    "work_out_patches",
]

# Asset.ext -> the format names galleries.location knows (the sniffed names of galleries.imaging).
_KINDS = {"jpg": "jpeg", "jpeg": "jpeg", "png": "png", "webp": "webp", "gif": "gif", "heic": "heif",
          "heif": "heif", "avif": "avif", "mp4": "mp4", "mov": "mov", "webm": "webm"}  # fmt: skip
_ORIGINAL_RE = re.compile(r"^originals/[0-9a-f]{2}/[0-9a-f]{2}/(?P<sha>[0-9a-f]{64})\.[a-z0-9]{2,4}$")


class LocationNotRemovable(Exception):
    """The original holds location that cannot be removed safely: it is not handed to visitors."""


def work_out_patches(handle: IO[bytes], asset: Asset) -> list | dict:
    """What Asset.location_patches keeps for the original open in handle (the worker calls this
    while it has the original open anyway)."""
    try:
        found = location.location_patches(handle, _KINDS.get(asset.ext, asset.ext))
    except location.LocationNotRemovable as exc:
        return {"error": str(exc) or "The location in this file cannot be removed safely."}
    return [[offset, data.hex()] for offset, data in found]


def location_patches(asset: Asset) -> list[tuple[int, bytes]]:
    """The patches that remove location from this asset's original, worked out once and kept.

    Raises LocationNotRemovable when the file holds location that cannot be removed safely.
    """
    stored = asset.location_patches
    if stored is None:
        with default_storage.open(asset.original_key, "rb") as handle:
            stored = work_out_patches(handle, asset)
        Asset.objects.filter(pk=asset.pk).update(location_patches=stored)
        asset.location_patches = stored
    if isinstance(stored, dict):
        raise LocationNotRemovable(stored.get("error", ""))
    return [(int(offset), bytes.fromhex(data)) for offset, data in stored]


def needs_cleaning(asset: Asset) -> bool:
    """False only when the original is known to carry no location (it can go out as it is)."""
    return asset.location_patches != []


@dataclass(frozen=True)
class Handout:
    """The file a viewer gets for "the original": its key, size, extension and type."""

    key: str
    size: int
    ext: str
    mime: str
    patches: tuple[tuple[int, bytes], ...] = ()
    substitute: bool = False  # the large rendition, because the location could not be removed


def handout(asset: Asset, *, owner: bool) -> Handout:
    """What to hand out as this asset's original: as stored for the owner; for anyone else the
    original with its location removed, or, where that cannot be done safely, the large WebP
    rendition (which carries no metadata at all). Raises LocationNotRemovable when there is
    neither (a video, or an image not processed yet)."""
    as_stored = Handout(asset.original_key, asset.size, asset.ext, asset.mime)
    if owner:
        return as_stored
    try:
        return replace(as_stored, patches=tuple(location_patches(asset)))
    except LocationNotRemovable:
        large = asset.variant("large", "webp")
        if large is None:
            raise
        return Handout(large.key, large.size, "webp", "image/webp", substitute=True)


def open_handout(item: Handout) -> IO[bytes]:
    handle = default_storage.open(item.key, "rb")
    if not item.patches:
        return handle
    return location.PatchedReader(handle, list(item.patches))


def open_clean(key: str) -> IO[bytes]:
    """The original under key with its location removed (for signed 'clean' media URLs); never a
    substitute, since the URL promises these bytes."""
    match = _ORIGINAL_RE.match(key)
    asset = Asset.objects.filter(sha256=match["sha"]).first() if match else None
    if asset is None or asset.original_key != key:
        raise FileNotFoundError(key)
    return open_handout(Handout(key, asset.size, asset.ext, asset.mime, patches=tuple(location_patches(asset))))
