from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination


class GalleryCursorPagination(CursorPagination):
    page_size = 50
    ordering = ("-created_at", "-id")

    def decode_cursor(self, request):
        # DRF answers 404 for a cursor it cannot read; it is bad input, not a missing page.
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({"cursor": ["Invalid cursor: use the `next` or `previous` link as given."]}) from None


class PhotoPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({"page_size": [f"Must be a whole number from 1 to {self.max_page_size}."]})
        return int(raw)

    def get_page_number(self, request, paginator) -> str:
        # Not a page number at all is bad input (400); a page past the last one is missing (404).
        raw = request.query_params.get(self.page_query_param, "1")
        if not (raw.isascii() and raw.isdigit() and int(raw) >= 1):
            raise ValidationError({"page": ["Must be a whole number from 1."]})
        return raw


# Photo pages in the schema: the bounds PhotoPagination enforces.
PAGE_PARAMETERS = [
    OpenApiParameter("page", {"type": "integer", "minimum": 1}, description="From 1; past the last page is 404."),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": PhotoPagination.max_page_size},
        description=f"1 to {PhotoPagination.max_page_size}, default {PhotoPagination.page_size}.",
    ),
]
