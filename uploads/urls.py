from django.urls import path

from uploads import guest

urlpatterns = [
    path("s/<str:token>/upload", guest.guest_upload_page, name="guest-upload"),
    path("s/<str:token>/tus/", guest.GuestTusCreateApi.as_view(), name="guest-tus-create"),
    path("s/<str:token>/tus/<uuid:upload_id>", guest.GuestTusDetailApi.as_view(), name="guest-tus-detail"),
]
