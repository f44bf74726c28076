from django.apps import AppConfig


class AnomaliesConfig(AppConfig):
    name = "apps.anomalies"
    label = "anomalies"
    verbose_name = "Anomaly detection"
