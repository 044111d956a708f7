from django.urls import path

from sharing.api import views

urlpatterns = [
    path("galleries/<uuid:gallery_id>/share-links", views.GalleryShareLinksApi.as_view(), name="gallery-share-links"),
    path("share-links/<uuid:link_id>", views.ShareLinkDetailApi.as_view(), name="share-link-detail"),
    path("shared/<str:token>", views.SharedGalleryApi.as_view(), name="shared-detail"),
    path("shared/<str:token>/unlock", views.SharedUnlockApi.as_view(), name="shared-unlock"),
    path("shared/<str:token>/selection", views.SharedSelectionApi.as_view(), name="shared-selection"),
]
