from django.urls import path

from integrations.api import views

urlpatterns = [
    path("webhooks", views.WebhookListApi.as_view(), name="webhook-list"),
    path("webhooks/<uuid:endpoint_id>", views.WebhookDetailApi.as_view(), name="webhook-detail"),
    path("webhooks/<uuid:endpoint_id>/rotate-secret", views.WebhookRotateSecretApi.as_view(), name="webhook-rotate"),
    path("webhooks/<uuid:endpoint_id>/deliveries", views.WebhookDeliveryListApi.as_view(), name="webhook-deliveries"),
    path(
        "webhooks/<uuid:endpoint_id>/deliveries/<int:delivery_id>/replay",
        views.WebhookDeliveryReplayApi.as_view(),
        name="webhook-delivery-replay",
    ),
]
