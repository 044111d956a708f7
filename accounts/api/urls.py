from django.urls import path

from accounts.api import views

urlpatterns = [
    path("auth/login", views.AuthLoginApi.as_view(), name="auth-login"),
    path("auth/logout", views.AuthLogoutApi.as_view(), name="auth-logout"),
]
