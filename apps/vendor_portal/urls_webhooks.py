"""Settings, Webhooks: endpoints and their deliveries."""

from django.urls import path

from .views import webhooks

urlpatterns: list = [
    path("", webhooks.webhook_endpoint_list, name="webhook_endpoint_list"),
    path("new/", webhooks.webhook_endpoint_create, name="webhook_endpoint_create"),
    path("<int:endpoint_id>/edit/", webhooks.webhook_endpoint_edit, name="webhook_endpoint_edit"),
    path("<int:endpoint_id>/rotate-secret/", webhooks.webhook_endpoint_rotate,
         name="webhook_endpoint_rotate"),
    path("<int:endpoint_id>/remove/", webhooks.webhook_endpoint_remove,
         name="webhook_endpoint_remove"),
    path("<int:endpoint_id>/deliveries/", webhooks.webhook_delivery_list,
         name="webhook_delivery_list"),
    path("<int:endpoint_id>/deliveries/<int:delivery_id>/resend/", webhooks.webhook_resend,
         name="webhook_resend"),
    path("<int:endpoint_id>/resend/", webhooks.webhook_resend_since,
         name="webhook_resend_since"),
    path("<int:endpoint_id>/test-event/", webhooks.webhook_test_event,
         name="webhook_test_event"),
]
