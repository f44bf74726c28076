"""A product's public activation forms (vendor side; the public pages live under /f/)."""

from django.urls import path

from .views import activation_forms

urlpatterns = [
    path("products/<int:product_id>/activation-forms/", activation_forms.activation_form_list,
         name="activation_form_list"),
    path("products/<int:product_id>/activation-forms/new/",
         activation_forms.activation_form_create_view, name="activation_form_create"),
    path("activation-forms/<int:form_id>/edit/", activation_forms.activation_form_edit,
         name="activation_form_edit"),
    path("activation-forms/<int:form_id>/delete/", activation_forms.activation_form_delete_view,
         name="activation_form_delete"),
]
