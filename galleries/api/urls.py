from django.urls import path

from galleries.api import views

urlpatterns = [
    path("health", views.HealthApi.as_view(), name="health"),
    path("galleries", views.GalleryListCreateApi.as_view(), name="gallery-list"),
    path("galleries/<uuid:gallery_id>", views.GalleryDetailApi.as_view(), name="gallery-detail"),
    path("galleries/<uuid:gallery_id>/restore", views.GalleryRestoreApi.as_view(), name="gallery-restore"),
    path("galleries/<uuid:gallery_id>/photos", views.GalleryPhotosApi.as_view(), name="gallery-photos"),
    path("galleries/<uuid:gallery_id>/photos/check", views.PhotoCheckApi.as_view(), name="gallery-photos-check"),
    path("photos/<uuid:photo_id>", views.PhotoDetailApi.as_view(), name="photo-detail"),
    path("photos/<uuid:photo_id>/reprocess", views.PhotoReprocessApi.as_view(), name="photo-reprocess"),
    path("photos/<uuid:photo_id>/download", views.PhotoDownloadApi.as_view(), name="photo-download"),
]
