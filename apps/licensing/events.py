"""What licensing tells the vendor's webhook endpoints (apps.webhooks): each domain change
calls one of these inside its transaction, with the object as the Web API shows it (the
PascalCase LicenseKey of key/GetKey, ModelVersion 3). emit() builds the payload only when
an endpoint of the vendor wants the event."""

from __future__ import annotations

from typing import Any

from apps.webhooks.services import emit

from .license_payload import LicenseView, license_dict, unix
from .models import Activation, Customer, LicenseKey


def key_payload(key: LicenseKey) -> dict[str, Any]:
    view = LicenseView(key=key, activations=list(key.activations.all()), model_version=3)
    return license_dict(view)


def key_event(key: LicenseKey, type: str, **extra: Any) -> None:
    emit(vendor_id=key.product.vendor_id, type=type,
         data=lambda: {**key_payload(key), **extra})


def device_event(key: LicenseKey, activation: Activation, type: str) -> None:
    emit(vendor_id=key.product.vendor_id, type=type, data=lambda: {
        "ProductId": key.product_id, "Key": key.key, "KeyId": key.serial,
        "MachineCode": activation.machine_code, "FriendlyName": activation.friendly_name,
        "IP": activation.ip or "", "Time": unix(activation.time),
        "Floating": activation.floating, "Overdraft": activation.overdraft,
        "FloatingExpires": unix(activation.floating_expires) if activation.floating else 0,
    })


def floating_limit_event(key: LicenseKey, machine_code: str) -> None:
    emit(vendor_id=key.product.vendor_id, type="floating.limit_reached", data=lambda: {
        "ProductId": key.product_id, "Key": key.key, "KeyId": key.serial,
        "MachineCode": machine_code, "MaxNoOfMachines": key.max_no_of_machines})


def customer_payload(customer: Customer) -> dict[str, Any]:
    return {"Id": customer.pk, "Name": customer.name, "Email": customer.email,
            "CompanyName": customer.company_name, "Created": unix(customer.created)}


def customer_event(customer: Customer, type: str = "customer.created") -> None:
    emit(vendor_id=customer.vendor_id, type=type, data=lambda: customer_payload(customer))
