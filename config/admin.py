"""The admin site: the photographer's daily work first, the system's internals apart.

Installed in place of django.contrib.admin (settings.INSTALLED_APPS names AdminConfig), so
`admin.site` everywhere is this site and every app registers on it as before.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.http import HttpRequest

# What a photographer does every day, in this order; every other model is the system's.
DAILY_WORK = ("galleries.gallery", "sharing.selection", "sharing.sharelink", "galleries.photo", "accounts.brand")
# Issue 16: a photographer's own webhooks, beside the daily work (the system section is for superusers only).
DAILY_WORK += ("integrations.webhookendpoint", "integrations.webhookdelivery")
# People and their access: beside the daily work, for the superusers who manage accounts.
PEOPLE = ("accounts.user", "auth.group")


class ContactSheetAdminSite(admin.AdminSite):
    site_header = "Contact Sheet"
    site_title = "Contact Sheet admin"
    index_title = "Your galleries"

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        """The index and the sidebar in three sections: daily work, people, system (superusers only).

        An app's own page (app_label given) stays as Django builds it: its permissions already
        decide what it lists."""
        apps = super().get_app_list(request, app_label)
        if app_label is not None:
            return apps
        models = {
            f"{app['app_label']}.{model['object_name'].lower()}": (app, model)
            for app in apps
            for model in app["models"]
        }

        def section(name: str, label: str, keys: list[str]) -> dict[str, Any] | None:
            if not keys:
                return None
            app = models[keys[0]][0]
            chosen = [models[key][1] for key in keys]
            # The section's heading links to its first list (there is no app page for a section).
            url = chosen[0].get("admin_url") or app["app_url"]
            return {**app, "name": name, "app_label": label, "app_url": url, "models": chosen}

        daily = [key for key in DAILY_WORK if key in models]
        people = [key for key in PEOPLE if key in models]
        system = [key for key in models if key not in DAILY_WORK and key not in PEOPLE]
        system.sort(key=lambda key: models[key][1]["name"])
        sections = [section("Daily work", "daily", daily), section("People", "people", people)]
        if request.user.is_superuser:
            sections.append(section("System", "system", system))
        return [s for s in sections if s]


class AdminConfig(DjangoAdminConfig):
    default_site = "config.admin.ContactSheetAdminSite"
