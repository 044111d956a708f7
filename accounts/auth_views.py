"""Sign-in and password reset for people (photographers and community members): Django's own views,
with the shared throttle (config.throttle) in front of every POST.

Sign-in is throttled per address on top of django-axes' per-account lockout; password reset per
address too, and its answer never says whether an address has an account (Django's view always
shows the same "check your mail" page and sends mail only to active accounts with a usable password).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy

from config import throttle
from config.clientip import client_ip

SIGN_IN_ATTEMPTS = getattr(settings, "SIGN_IN_ATTEMPTS", 30)
SIGN_IN_WINDOW = getattr(settings, "SIGN_IN_WINDOW", 15 * 60)
RESET_ATTEMPTS = getattr(settings, "PASSWORD_RESET_ATTEMPTS", 5)
RESET_WINDOW = getattr(settings, "PASSWORD_RESET_WINDOW", 60 * 60)


def _throttled(request: HttpRequest, scope: str, attempts: int, window: int) -> HttpResponse | None:
    if request.method != "POST":
        return None
    if throttle.hit(f"{scope}:{client_ip(request)}", window) <= attempts:
        return None
    minutes = max(1, window // 60)
    response = render(
        request,
        "accounts/communities/refused.html",
        {"message": f"Too many attempts from your address. Try again in {minutes} minutes.", "status": 429},
        status=429,
    )
    response["Retry-After"] = str(window)
    return response


class _SignInView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        """Without a `next`: photographers to the galleries, community members to their communities."""
        user = self.request.user
        if not (user.is_staff or user.is_superuser) and user.memberships.exists():
            return str(reverse_lazy("communities:mine"))
        return super().get_default_redirect_url()


_login = _SignInView.as_view()


def sign_in(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """/accounts/login/: Django's LoginView behind the per-address throttle."""
    return _throttled(request, "sign-in", SIGN_IN_ATTEMPTS, SIGN_IN_WINDOW) or _login(request, *args, **kwargs)


_reset = auth_views.PasswordResetView.as_view(
    template_name="accounts/communities/password_reset_form.html",
    email_template_name="accounts/communities/password_reset_email.txt",
    subject_template_name="accounts/communities/password_reset_subject.txt",
    success_url=reverse_lazy("password_reset_done"),
)


def password_reset(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    return _throttled(request, "password-reset", RESET_ATTEMPTS, RESET_WINDOW) or _reset(request, *args, **kwargs)


password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="accounts/communities/password_reset_done.html"
)
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="accounts/communities/password_reset_confirm.html",
    success_url=reverse_lazy("password_reset_complete"),
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="accounts/communities/password_reset_complete.html"
)
