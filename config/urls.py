from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import auth_views as account_views
from accounts.views import brand_logo
from galleries.media import media_serve


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    # Resolved per request: the hashed static name exists only after collectstatic.
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))


# What crawlers are asked to leave alone. Share links (/s/) are private by nature; the admin, the API
# and sign-in are no pages for a search engine. Unlisted galleries live under /g/ like public ones,
# with no prefix of their own: their addresses carry 64 random bits precisely so that nobody can
# list them, and naming them here would publish them. They (and share links, and private and draft
# galleries) say "noindex" themselves instead, in a meta tag and the X-Robots-Tag header, which a
# crawler can only read on pages it is allowed to fetch. Media stays allowed: link previews fetch
# the cover of a public gallery (og:image) through it, and Twitterbot obeys robots.txt for images.
ROBOTS_TXT = """User-agent: *
Disallow: /s/
Disallow: /admin/
Disallow: /api/
Disallow: /accounts/
"""


def robots_txt(request: HttpRequest) -> HttpResponse:
    return HttpResponse(ROBOTS_TXT, content_type="text/plain; charset=utf-8")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", account_views.sign_in, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password-reset/", account_views.password_reset, name="password_reset"),
    path("accounts/password-reset/sent/", account_views.password_reset_done, name="password_reset_done"),
    path("accounts/reset/<uidb64>/<token>/", account_views.password_reset_confirm, name="password_reset_confirm"),
    path("accounts/reset/done/", account_views.password_reset_complete, name="password_reset_complete"),
    path("api/v1/", include("sharing.api.community_urls")),
    path("api/v1/", include("accounts.api.urls")),
    path("api/v1/", include("galleries.api.urls")),
    path("api/v1/", include("uploads.api.urls")),
    path("api/v1/", include("sharing.api.urls")),
    path("api/v1/", include("integrations.api.urls")),  # issue 16: webhooks
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script from its own URL: no inline script, so the
    # Content-Security-Policy needs no exception for it.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("media/<path:key>", media_serve, name="media"),
    path("favicon.ico", favicon),
    path("robots.txt", robots_txt, name="robots-txt"),
    path("brand/<str:name>", brand_logo, name="brand-logo"),
    path("", include("sharing.community_urls")),
    path("", include("uploads.urls")),
    path("", include("sharing.urls")),
    path("", include("galleries.urls")),
]

# Django's own error answers: JSON on /api/, pages elsewhere; an unreachable database answers 503.
handler400 = "config.errors.bad_request"
handler403 = "config.errors.permission_denied"
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"
