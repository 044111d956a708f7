from django.urls import path

from sharing import views

app_name = "sharing"

# Every page behind a share link's address. Two more live under /s/<token>/ but belong to uploads
# (which depends on sharing, not the other way): the guest drop box /s/<token>/upload and its tus
# endpoints /s/<token>/tus/…, in uploads/urls.py (names "guest-upload", "guest-tus-create", "guest-tus-detail").
urlpatterns = [
    path("s/<str:token>/", views.share_detail, name="detail"),
    path("s/<str:token>/favourites/", views.share_favourites, name="favourites"),
    path("s/<str:token>/unlock", views.share_unlock, name="unlock"),
    path("s/<str:token>/download.zip", views.share_zip, name="zip"),
    path("s/<str:token>/p/<uuid:photo_id>/", views.share_photo, name="photo"),
    path("s/<str:token>/p/<uuid:photo_id>/download", views.share_photo_download, name="photo-download"),
    path("s/<str:token>/more-time/", views.share_more_time, name="more-time"),
    path("s/<str:token>/more-time/ask", views.share_more_time_ask, name="more-time-ask"),
]
