from django.urls import path

from . import views

app_name = "activation_forms"
urlpatterns = [
    path("<slug:slug>/", views.activation_form, name="activation_form"),
]
