from django.urls import path

from .views import anomalies

urlpatterns = [
    path("", anomalies.anomaly_list, name="anomaly_list"),
    path("findings/<int:finding_id>/", anomalies.anomaly_detail, name="anomaly_detail"),
    path("findings/<int:finding_id>/expected/", anomalies.anomaly_mark_expected,
         name="anomaly_mark_expected"),
    path("findings/<int:finding_id>/block-key/", anomalies.anomaly_block_key,
         name="anomaly_block_key"),
    path("model/", anomalies.anomaly_model, name="anomaly_model"),
    path("model/settings/", anomalies.anomaly_settings, name="anomaly_settings"),
    path("model/retrain/", anomalies.anomaly_retrain, name="anomaly_retrain"),
]
