"""Anomaly detection on Web API logs: plain PyTorch/NumPy, no Django imports."""
