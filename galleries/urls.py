from django.urls import path

from galleries import views

app_name = "galleries"

urlpatterns = [
    path("", views.gallery_index, name="index"),
    path("g/<slug:slug>/", views.gallery_detail, name="detail"),
    path("g/<slug:slug>/p/<uuid:photo_id>/", views.photo_detail, name="photo"),
]
