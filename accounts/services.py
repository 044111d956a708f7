"""Writes of the accounts app that touch several things at once (rows and storage)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from accounts import colours, logos
from accounts.models import Brand, User
from accounts.permissions import is_photographer
from config.exceptions import InvalidInput, NotFound

log = logging.getLogger(__name__)

BRAND_FIELDS = ("studio_name", "accent", "contact_email", "website")


def logo_key(sha256: str) -> str:
    """Where a logo's bytes live in the media storage: by content, apart from photos (originals/, variants/)."""
    return f"brands/{sha256[:2]}/{sha256[2:4]}/{sha256}.webp"


@dataclass
class CheckedBrand:
    """A brand's new values, all checked: what brand_update writes."""

    fields: dict[str, Any]
    logo: logos.Logo | None


def brand_check(*, owner: User, logo: IO[bytes] | None = None, **fields: Any) -> CheckedBrand:
    """Check a brand's new values without writing anything (the admin form shows the errors by field).

    Raises NotFound for a user who is not a photographer; InvalidInput (code "contrast" or "colour"
    for the accent), TooLarge or UnsupportedType (the logo) with a message for a person.
    """
    if not is_photographer(owner):
        raise NotFound("No such photographer.")
    unknown = set(fields) - set(BRAND_FIELDS)
    if unknown:
        raise InvalidInput(f"A brand has no field {', '.join(sorted(unknown))}.")
    clean = {name: ("" if value is None else str(value).strip()) for name, value in fields.items()}
    if clean.get("accent"):
        clean["accent"] = colours.check_accent(clean["accent"])
    try:
        Brand(owner=owner, **clean).full_clean(exclude=["owner"], validate_unique=False)
    except ValidationError as exc:
        messages = [
            f"{Brand._meta.get_field(name).verbose_name.capitalize()}: {' '.join(errors)}"
            for name, errors in exc.message_dict.items()
        ]
        raise InvalidInput(" ".join(messages), code="fields") from None
    return CheckedBrand(fields=clean, logo=logos.prepare_logo(logo) if logo is not None else None)


def _delete_unused_logo(key: str) -> None:
    """After commit: delete a replaced logo's file unless another brand shows the same bytes."""
    if key and not Brand.objects.filter(logo_key=key).exists():
        try:
            default_storage.delete(key)
        except OSError:
            log.warning("could not delete the replaced logo %s", key, exc_info=True)


def brand_update(*, owner: User, logo: IO[bytes] | None = None, remove_logo: bool = False, **fields: Any) -> Brand:
    """Create or change the owner's studio brand; only photographers have one.

    Validates everything first (the accent's contrast, the website's scheme, the logo's bytes),
    then writes: the logo file under its content key, then the row. A replaced logo's file is
    deleted after commit when no other brand uses it.
    Raises InvalidInput, TooLarge or UnsupportedType with a message for a person; NotFound for a
    user who is not a photographer.
    """
    checked = brand_check(owner=owner, logo=logo, **fields)
    with transaction.atomic():
        brand = Brand.objects.select_for_update().filter(owner=owner).first() or Brand(owner=owner)
        old_key = brand.logo_key
        for name, value in checked.fields.items():
            setattr(brand, name, value)
        if checked.logo is not None:
            key = logo_key(hashlib.sha256(checked.logo.data).hexdigest())
            if not default_storage.exists(key):
                default_storage.save(key, ContentFile(checked.logo.data))
            brand.logo_key, brand.logo_width, brand.logo_height = key, checked.logo.width, checked.logo.height
        elif remove_logo:
            brand.logo_key, brand.logo_width, brand.logo_height = "", 0, 0
        brand.save()
        if old_key and old_key != brand.logo_key:
            transaction.on_commit(lambda: _delete_unused_logo(old_key))
    return brand
