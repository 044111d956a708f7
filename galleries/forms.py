from __future__ import annotations

from django import forms


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class PhotoUploadForm(forms.Form):
    files = MultipleFileField(
        label="Photos",
        help_text="Choose one or more JPEG, PNG, GIF, WebP, HEIC or AVIF files.",
        widget=MultipleFileInput(attrs={"accept": "image/*,.heic,.heif,.avif"}),
    )
