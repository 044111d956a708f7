from django.urls import path

from uploads import guest, member_drop

urlpatterns = [
    path("s/<str:token>/upload", guest.guest_upload_page, name="guest-upload"),
    path("s/<str:token>/tus/", guest.GuestTusCreateApi.as_view(), name="guest-tus-create"),
    path("s/<str:token>/tus/<uuid:upload_id>", guest.GuestTusDetailApi.as_view(), name="guest-tus-detail"),
    # A community member's drop (uploads.member_drop): the same tus door, the member's quota.
    path("c/<slug:slug>/drop/", member_drop.member_drop_page, name="member-drop"),
    path("c/<str:slug>/tus/", member_drop.MemberTusCreateApi.as_view(), name="member-tus-create"),
    path("c/<str:slug>/tus/<str:upload_id>", member_drop.MemberTusDetailApi.as_view(), name="member-tus-detail"),
]
