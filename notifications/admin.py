"""The mail log: what was sent to whom, what failed and why; "Send again" for the ones that did not go out.

Managers (superusers) only: it holds other people's addresses and every gallery's events. Rows are
written by notifications.services alone, so the admin reads and never edits them.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.text import Truncator

from accounts.permissions import ManagersReadOnlyAdmin, is_manager
from notifications import services
from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(ManagersReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("created_at", "kind", "to", "subject", "status", "attempts", "sent_at", "error")
    list_filter = ("status", "kind")
    search_fields = ("to", "subject", "topic")
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "kind",
        "key",
        "topic",
        "to",
        "subject",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
        "body_text",
        "html_preview",
    )
    readonly_fields = fields
    actions = ["send_again"]

    # Read-only for managers (ManagersReadOnlyAdmin): a deleted row would let its event be mailed twice.

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return is_manager(request.user)

    @admin.display(description="Last error")
    def error(self, obj: Notification) -> str:
        return Truncator(obj.last_error).chars(80)

    @admin.display(description="HTML part")
    def html_preview(self, obj: Notification) -> str:
        return render_to_string("admin/notifications/html_preview.html", {"html": obj.body_html})

    @admin.action(description="Send again", permissions=["resend"])
    def send_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        queued = sum(services.resend(notification) for notification in queryset)
        skipped = queryset.count() - queued
        if queued:
            self.message_user(request, f"{queued} mail{'s' if queued != 1 else ''} queued to be sent again.")
        if skipped:
            self.message_user(
                request,
                f"{skipped} left alone: already sent, or being sent right now.",
                messages.WARNING,
            )
