"""Webhooks in the admin: each photographer registers and manages their own endpoints, sees their
deliveries and replays them. Every write goes through integrations.services, as from the API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import Truncator

from accounts.permissions import is_photographer
from config.events import EVENT_TYPES
from config.exceptions import ServiceError
from integrations import services
from integrations.models import WebhookDelivery, WebhookEndpoint


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        label="URL",
        max_length=2000,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"class": "vURLField", "size": 60}),
        help_text="Where deliveries are POSTed (https, a public address).",
    )
    events = forms.MultipleChoiceField(
        choices=[(e, e) for e in EVENT_TYPES], widget=forms.CheckboxSelectMultiple, help_text="What is sent there."
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "events", "is_active"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if self.instance.pk and url == self.instance.url:
            return url
        try:
            return services.check_url(url)
        except ServiceError as exc:
            raise ValidationError(exc.message) from None


class OwnEndpointsOnly:
    """Only photographers, and each sees only their own rows (endpoints hold signing secrets)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_photographer(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_photographer(request.user) and (obj is None or self.get_queryset(request).filter(pk=obj.pk).exists())


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OwnEndpointsOnly, admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "description", "event_list", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("url", "description")
    readonly_fields = ("created_at", "updated_at")
    actions = ["rotate_secret"]

    def get_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> list[str]:
        fields = ["url", "description", "events", "is_active"]
        return [*fields, "created_at", "updated_at"] if obj is not None else fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return WebhookEndpoint.objects.owned_by(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_photographer(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_view_permission(request, obj)

    has_delete_permission = has_change_permission

    @admin.display(description="Events")
    def event_list(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.events)

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            created, secret = services.endpoint_create(
                owner=request.user,
                url=data["url"],
                events=data["events"],
                description=data.get("description", ""),
                is_active=data.get("is_active", True),
            )
            obj.pk = created.pk
            obj.refresh_from_db()
            obj._state.adding = False
            self._show_secret(request, secret)
            return
        fields = {name: data[name] for name in form.changed_data if name in services.ENDPOINT_FIELDS}
        obj.refresh_from_db()
        services.endpoint_update(endpoint=obj, **fields)

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        services.endpoint_delete(endpoint=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for endpoint in queryset:
            services.endpoint_delete(endpoint=endpoint)

    def _show_secret(self, request: HttpRequest, secret: str) -> None:
        self.message_user(
            request,
            f"Signing secret (shown this once, store it now): {secret}",
            messages.WARNING,
        )

    @admin.action(description="Rotate the signing secret (the old one signs too for 24 h)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet) -> None:
        for endpoint in queryset:
            secret = services.endpoint_rotate_secret(endpoint=endpoint)
            self.message_user(
                request, f"New signing secret for {endpoint.url} (shown this once): {secret}", messages.WARNING
            )


class EventTypeFilter(admin.SimpleListFilter):
    """By event type, from the fixed list (Django's own filter on a related field would list the
    values of every owner's events)."""

    title = "event"
    parameter_name = "event_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(e, e) for e in EVENT_TYPES]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(event__type=self.value()) if self.value() else queryset


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(OwnEndpointsOnly, admin.ModelAdmin):
    list_display = (
        "id",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "response_status",
        "response_ms",
        "next_attempt_at",
        "error",
    )
    list_filter = ("status", EventTypeFilter)
    search_fields = ("endpoint__url", "object_key", "event__id")
    fields = (
        "event_type",
        "endpoint",
        "object_key",
        "status",
        "attempts",
        "response_status",
        "response_ms",
        "last_attempt_at",
        "next_attempt_at",
        "delivered_at",
        "last_error",
        "replay_of",
        "payload",
    )
    readonly_fields = fields
    actions = ["replay"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return WebhookDelivery.objects.owned_by(request.user).select_related("event", "endpoint")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return is_photographer(request.user)

    @admin.display(description="Event", ordering="event__type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.type

    @admin.display(description="Body")
    def payload(self, obj: WebhookDelivery) -> str:
        return obj.event.payload

    @admin.display(description="Last error")
    def error(self, obj: WebhookDelivery) -> str:
        return Truncator(obj.last_error).chars(80)

    @admin.action(description="Replay (send the event again)", permissions=["replay"])
    def replay(self, request: HttpRequest, queryset: QuerySet) -> None:
        queued = 0
        for delivery in queryset:
            try:
                services.delivery_replay(delivery=delivery)
                queued += 1
            except ServiceError as exc:
                self.message_user(request, f"Delivery {delivery.pk}: {exc.message}", messages.WARNING)
        if queued:
            self.message_user(request, f"{queued} deliver{'ies' if queued != 1 else 'y'} queued to be sent again.")
