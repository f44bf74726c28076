"""Public activation forms: pages where end users get a license file for an offline device."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.accounts.models import Vendor
from apps.core.models import TimeStampedModel

from .catalogue import Product


def _new_form_slug() -> str:
    import secrets

    # 72 random bits: the public URL is the only thing that finds a form.
    return secrets.token_urlsafe(9)


def _file_format_choices() -> list[tuple[str, str]]:
    from apps.licensing.license_files import FORMATS

    return FORMATS


def _machine_code_format_choices() -> list[tuple[str, str]]:
    from apps.licensing.machine_codes import FORMAT_CHOICES

    return FORMAT_CHOICES


class ActivationFormQuerySet(models.QuerySet):
    def for_vendor(self, vendor: Vendor) -> ActivationFormQuerySet:
        return self.filter(product__vendor=vendor)


class ActivationForm(TimeStampedModel):
    """A public page where an end user turns key + machine code into a license file (.skm)
    for a device without internet."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE,
                                related_name="activation_forms")
    slug = models.CharField(max_length=32, unique=True, default=_new_form_slug, editable=False)
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True, max_length=5000)
    file_format = models.CharField(max_length=10, choices=_file_format_choices,
                                   default="string")
    ask_friendly_name = models.BooleanField(
        default=False, help_text="Ask for a device name (shown on the key's page).")
    allow_new_devices = models.BooleanField(
        default=True, help_text="Off: only devices already activated on the key, or listed "
                                "in its allowed machines, get a file.")
    validity_days = models.PositiveIntegerField(
        default=365, help_text="How long the file stays valid, as told to the end user.")
    enabled = models.BooleanField(default=True)
    # Which machine codes the page accepts (apps/licensing/machine_codes.py): a malformed code
    # is refused before it can take a seat.
    machine_code_format = models.CharField(max_length=10, choices=_machine_code_format_choices,
                                           default="official")
    machine_code_pattern = models.CharField(max_length=200, blank=True)
    machine_code_example = models.CharField(max_length=128, blank=True)

    objects = ActivationFormQuerySet.as_manager()

    class Meta:
        ordering = ["title", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(file_format__in=["string", "linq"]),
                                   name="activation_form_file_format"),
            models.CheckConstraint(
                condition=Q(machine_code_format="official")
                | (Q(machine_code_format="pattern") & ~Q(machine_code_pattern="")),
                name="activation_form_machine_code_format"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def machine_code_help(self) -> str:
        """The expected machine-code format, in words for the end user."""
        from apps.licensing.machine_codes import machine_code_help

        if self.machine_code_format == "official":
            return machine_code_help()
        return machine_code_help(pattern=self.machine_code_pattern,
                                 example=self.machine_code_example)
