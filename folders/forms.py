"""The admin's forms for folders: import from a server folder, export a gallery."""

from __future__ import annotations

import os
from typing import Any

from django import forms
from django.conf import settings

from config.exceptions import ServiceError
from folders import services

INTO_GALLERY, INTO_FOLDERS = "gallery", "folders"
INTO_FOLDERS_LABEL = (
    "One gallery per folder (the folder and each folder inside it becomes a gallery, "
    "made if missing and filled again on the next run)"
)
STARS = [("", "No"), *[(str(n), f"{'★' * n} {n} star{'s' if n != 1 else ''} or more") for n in range(1, 6)]]
LABELS = ("Red", "Yellow", "Green", "Blue", "Purple")  # Lightroom's colour labels; Capture One's are the same words


class ImportForm(forms.Form):
    path = forms.CharField(
        label="Folder on the server",
        max_length=4096,
        strip=True,
        widget=forms.TextInput(attrs={"class": "vTextField", "list": "cs-import-roots", "spellcheck": "false"}),
    )
    into = forms.ChoiceField(
        label="Put the photos",
        choices=[(INTO_GALLERY, "In this gallery"), (INTO_FOLDERS, INTO_FOLDERS_LABEL)],
        initial=INTO_GALLERY,
        widget=forms.RadioSelect,
    )
    delete_missing = forms.BooleanField(
        required=False,
        label="Remove photos whose files are gone from the folder",
        help_text="Without this, they are only listed as missing.",
    )
    dry_run = forms.BooleanField(
        required=False, label="Dry run", help_text="Read and check every file and show the report; change nothing."
    )
    picks_from_rating = forms.TypedChoiceField(
        label="Picks from star ratings",
        choices=STARS,
        coerce=int,
        empty_value=None,
        required=False,
        help_text="New photos rated this high (in Lightroom, Capture One or darktable: XMP) become picks.",
    )
    picks_from_label = forms.CharField(
        label="Picks from colour labels",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"class": "vTextField", "list": "cs-import-labels"}),
        help_text=f"New photos with one of these labels become picks; several separated by commas "
        f"({', '.join(LABELS)}).",
    )

    def clean_path(self) -> str:
        path = self.cleaned_data["path"]
        if not os.path.isabs(path):
            raise forms.ValidationError(
                f"Give the full path of the folder, starting with one of: {', '.join(settings.IMPORT_ROOTS)}."
            )
        try:
            return services.import_root(path)
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from exc

    def options(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "folders_as_galleries": data["into"] == INTO_FOLDERS,
            "delete_missing": data["delete_missing"],
            "dry_run": data["dry_run"],
            "picks_from_rating": data["picks_from_rating"],
            "picks_from_label": [part.strip() for part in data["picks_from_label"].split(",") if part.strip()],
        }


def suggested_folders(limit: int = 200) -> list[str]:
    """The import roots and the folders right inside them, for the path field's suggestions."""
    found: list[str] = []
    for root in settings.IMPORT_ROOTS:
        real = os.path.realpath(os.path.expanduser(root))
        found.append(real)
        try:
            with os.scandir(real) as items:
                names = sorted(item.name for item in items if item.is_dir() and not item.name.startswith("."))
        except OSError:
            continue
        found += [os.path.join(real, name) for name in names[:limit]]
    return found[:limit]


def variant_choices() -> list[tuple[str, str]]:
    return [("", "Originals (as uploaded)")] + [
        (name, f"{name.capitalize()} ({w}×{h} at most)") for name, w, h, *_ in settings.IMAGE_VARIANTS
    ]


class ExportForm(forms.Form):
    variant = forms.ChoiceField(label="Files", required=False, widget=forms.RadioSelect)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["variant"].choices = variant_choices()
        self.fields["variant"].initial = ""
