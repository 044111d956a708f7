from django.urls import path

from uploads.api import views

urlpatterns = [
    path("uploads", views.UploadCreateApi.as_view(), name="upload-create"),
    path("uploads/s3", views.S3UploadCreateApi.as_view(), name="upload-s3-create"),
    path("uploads/<uuid:upload_id>", views.UploadDetailApi.as_view(), name="upload-detail"),
    path("uploads/<uuid:upload_id>/s3/parts", views.S3UploadPartsApi.as_view(), name="upload-s3-parts"),
    path("uploads/<uuid:upload_id>/s3/complete", views.S3UploadCompleteApi.as_view(), name="upload-s3-complete"),
    path("uploads/<uuid:upload_id>/chunks/<int:index>", views.UploadChunkApi.as_view(), name="upload-chunk"),
    path("uploads/<uuid:upload_id>/complete", views.UploadCompleteApi.as_view(), name="upload-complete"),
    path("tus/", views.TusCreateApi.as_view(), name="tus-create"),
    path("tus/<uuid:upload_id>", views.TusDetailApi.as_view(), name="tus-detail"),
]
