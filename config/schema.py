"""How the OpenAPI schema is generated where drf-spectacular's defaults would not tell the truth.

Named in SPECTACULAR_SETTINGS (DEFAULT_GENERATOR_CLASS), so this module is imported before any
serializer is mapped and the extension below is registered in time.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from drf_spectacular.openapi import AutoSchema


class StrictSerializerExtension(OpenApiSerializerExtension):
    """Serializers that refuse unknown fields (StrictMixin) say so: additionalProperties is false."""

    target_class = "galleries.api.serializers.StrictMixin"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: str) -> dict:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


class _Endpoints(EndpointEnumerator):
    """Also HEAD and OPTIONS where a view answers them itself (tus), not only by Django's default."""

    def get_allowed_methods(self, callback: Any) -> list[str]:
        methods = super().get_allowed_methods(callback)
        view = getattr(callback, "cls", None)
        for method in ("head", "options"):
            if view is not None and _defined_by_the_project(view, method):
                methods.append(method.upper())
        return methods


def _defined_by_the_project(view: type, method: str) -> bool:
    for klass in view.__mro__:
        if method in klass.__dict__:
            return not klass.__module__.startswith(("django.", "rest_framework."))
    return False


class HeadOptionsSchema(AutoSchema):
    """For views that answer HEAD and OPTIONS themselves: operation ids for those methods too."""

    method_mapping = {**AutoSchema.method_mapping, "head": "head", "options": "options"}

    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        if self.method == "OPTIONS" and self.path.endswith("}"):
            # The collection and one item would both be "…_options": name the item's parameter.
            parameter = self.path.rsplit("{", 1)[1].rstrip("}").removesuffix("_id")
            operation_id = f"{operation_id.removesuffix('_options')}_{parameter}_options"
        return operation_id


class Generator(SchemaGenerator):
    endpoint_inspector_cls = _Endpoints
