from django.urls import path

from .views import tools

urlpatterns = [
    path("machine-codes/", tools.machine_code_tools, name="machine_code_tools"),
    path("machine-codes/<str:name>/", tools.machine_code_script, name="machine_code_script"),
]
