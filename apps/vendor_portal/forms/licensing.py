"""Forms about licensing: products, keys, customers, tokens, files, templates, rights."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django import forms
from django.db.models import QuerySet

from apps.core.forms import DayField, IdListField, choice_field, cleaned, model_choice_field
from apps.licensing.license_files import FORMATS
from apps.licensing.machine_codes import FORMAT_CHOICES as MACHINE_CODE_FORMATS
from apps.licensing.machine_codes import (
    MAX_PATTERN_LENGTH,
    OFFICIAL,
    OFFICIAL_FORMATS,
    OFFICIAL_HELP,
    official_format,
)
from apps.licensing.models.catalogue import MAX_INTERNAL_NOTE_LENGTH
from apps.licensing.services.activation_forms import MAX_VALIDITY_DAYS

if TYPE_CHECKING:
    from apps.licensing.models import Customer, LicenseTemplate, Product


class ProductForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    f1_name = forms.CharField(label="F1 name", max_length=100, required=False)
    f2_name = forms.CharField(label="F2 name", max_length=100, required=False)
    f3_name = forms.CharField(label="F3 name", max_length=100, required=False)
    f4_name = forms.CharField(label="F4 name", max_length=100, required=False)
    f5_name = forms.CharField(label="F5 name", max_length=100, required=False)
    f6_name = forms.CharField(label="F6 name", max_length=100, required=False)
    f7_name = forms.CharField(label="F7 name", max_length=100, required=False)
    f8_name = forms.CharField(label="F8 name", max_length=100, required=False)
    default_max_machines = forms.IntegerField(
        min_value=0, max_value=1_000_000, initial=1,
        help_text="Seats of a new key (0 = any number of machines, not node-locked).",
    )
    trial_period_days = forms.IntegerField(min_value=1, max_value=3650, initial=15)
    trial_max_machines = forms.IntegerField(min_value=0, max_value=1000, initial=1)
    trial_feature = forms.TypedChoiceField(
        coerce=int, initial=0, choices=[(0, "None")] + [(n, f"F{n}") for n in range(1, 9)],
        help_text="Feature that marks a key as a trial.",
    )
    time_limited_feature = forms.TypedChoiceField(
        coerce=int, initial=0, choices=[(0, "None")] + [(n, f"F{n}") for n in range(1, 9)],
        help_text="Feature that marks a key as time-limited.",
    )
    activation_form_enabled = forms.BooleanField(
        required=False, label="Offer the public activation form for offline devices"
    )


FEATURE_FIELDS = [f"f{n}" for n in range(1, 9)]


class KeyFieldsMixin(forms.Form):
    """Fields shared by key creation and key editing; labels come from the product."""

    f1 = forms.BooleanField(required=False)
    f2 = forms.BooleanField(required=False)
    f3 = forms.BooleanField(required=False)
    f4 = forms.BooleanField(required=False)
    f5 = forms.BooleanField(required=False)
    f6 = forms.BooleanField(required=False)
    f7 = forms.BooleanField(required=False)
    f8 = forms.BooleanField(required=False)
    max_no_of_machines = forms.IntegerField(
        label="Maximum number of machines", min_value=0, max_value=1_000_000,
        help_text="0 = not node-locked (any number of devices).",
    )
    notes = forms.CharField(
        required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}),
        label="Notes (sent with the license: the Web API returns it)",
        help_text="Your software, your customer and resellers can read it.")
    trial_activation = forms.BooleanField(
        required=False, help_text="Each device's countdown starts at its first activation."
    )
    automatic_activation = forms.BooleanField(
        required=False, initial=True,
        help_text="Off: only devices that are already activated (or allowed below) pass.",
    )
    allowed_machines = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Pre-approved machine codes, one per line.",
    )

    def __init__(self, *args: Any, product: Product | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if product is not None:
            for n, name in enumerate(product.feature_names, start=1):
                self.fields[f"f{n}"].label = f"F{n}: {name}" if name != f"F{n}" else f"F{n}"

    def clean_allowed_machines(self) -> str:
        codes = [c.strip() for c in self.cleaned_data["allowed_machines"].splitlines()]
        if any(len(c) > 128 for c in codes):
            raise forms.ValidationError("The machine code cannot exceed 128 chars in length.")
        return "\n".join(c for c in codes if c)


class InternalNoteMixin(forms.Form):
    """The vendor's own note on a key, next to the notes that go out with the license."""

    internal_note = forms.CharField(
        required=False, max_length=MAX_INTERNAL_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Internal note (only your team sees it)",
        help_text="E.g. an order number or a contact. Never sent with the license, never shown "
                  "to resellers or customers, never copied into a template.")


class KeyCreateForm(KeyFieldsMixin, InternalNoteMixin):
    count = forms.IntegerField(label="Number of keys", min_value=1, max_value=1000, initial=1)
    period = forms.IntegerField(label="Period (days)", min_value=0, max_value=36500, initial=365,
                                help_text="The keys expire this many days from now.")
    customer: forms.ModelChoiceField[Customer] = forms.ModelChoiceField(
        queryset=None, required=False, help_text="Or create a new customer below.")
    new_customer_name = forms.CharField(label="New customer: name", max_length=100, required=False)
    new_customer_email = forms.EmailField(label="New customer: e-mail", max_length=100,
                                          required=False)
    new_customer_company = forms.CharField(label="New customer: company", max_length=100,
                                           required=False)
    block = forms.BooleanField(required=False, label="Create blocked")

    def __init__(self, *args: Any, customers: QuerySet[Customer] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "customer").queryset = customers

    def clean(self) -> dict[str, Any]:
        data = cleaned(super().clean())
        new = any(data.get(f) for f in
                  ("new_customer_name", "new_customer_email", "new_customer_company"))
        if new and data.get("customer"):
            raise forms.ValidationError("Pick an existing customer or enter a new one, not both.")
        data["has_new_customer"] = new
        return data


class KeyEditForm(KeyFieldsMixin, InternalNoteMixin):
    customer: forms.ModelChoiceField[Customer] = forms.ModelChoiceField(queryset=None,
                                                                         required=False)

    def __init__(self, *args: Any, customers: QuerySet[Customer] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "customer").queryset = customers


class ExtendForm(forms.Form):
    days = forms.IntegerField(
        min_value=-36500, max_value=36500,
        help_text="Added to the expiry date (to today if already expired). Negative shortens.",
    )


class DevicesDeactivateForm(forms.Form):
    """Devices of one key to free, and the search and page of its device list to go back to."""

    # A page shows 50 devices; the cap stays well under Django's limit of posted fields.
    activation = IdListField(required=False, max_count=500)
    q = forms.CharField(required=False, max_length=200)
    page = forms.IntegerField(required=False, min_value=1, max_value=10**6)


class DataObjectForm(forms.Form):
    name = forms.CharField(max_length=100)
    string_value = forms.CharField(required=False, max_length=10000,
                                   widget=forms.Textarea(attrs={"rows": 2}))
    int_value = forms.IntegerField(initial=0, min_value=-(2**63), max_value=2**63 - 1)


class CustomerForm(forms.Form):
    name = forms.CharField(max_length=100, required=False)
    email = forms.EmailField(label="E-mail", max_length=100, required=False)
    company_name = forms.CharField(label="Company", max_length=100, required=False)
    notes = forms.CharField(required=False, max_length=1000,
                            widget=forms.Textarea(attrs={"rows": 3}))
    allow_activation_management = forms.BooleanField(
        required=False, label="Customer may manage activations in the portal",
        help_text="Its portal users who have the permission too may deactivate devices.")
    max_no_of_devices = forms.IntegerField(
        required=False, min_value=0, max_value=1_000_000, initial=0,
        label="Device cap across all keys, 0 = none",
        help_text="Activation of a new device fails once the customer's keys together have "
                  "this many devices.")
    allow_multiple_user_association = forms.BooleanField(
        required=False, label="Several users of your application may log in as this customer",
        help_text="Users who sign in to your application with a user name and password (Web "
                  "API userauth) get this customer's licenses. Off: one user at most "
                  "(Cryptolens' AllowMultipleUserAssociation).")

    def clean_max_no_of_devices(self) -> int:
        return self.cleaned_data["max_no_of_devices"] or 0

    def clean(self) -> dict[str, Any]:
        data = cleaned(super().clean())
        if not (data.get("name") or data.get("email") or data.get("company_name")):
            raise forms.ValidationError("Give the customer a name, an e-mail address or a company.")
        return data


# The FieldsToReturn bits a token can hide (apps.licensing.license_payload), by field name.
HIDEABLE_FIELDS = [("2", "ID"), ("4", "Key"), ("8", "Notes"), ("16", "GlobalId"),
                   ("32", "Customer"), ("64", "ActivatedMachines"), ("128", "AllowedMachines"),
                   ("256", "MaxNoOfMachines"), ("512", "DataObjects")]


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100)
    permissions = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, required=False)
    # "All of this group": ticks every method of a controller, with or without script.
    permission_groups = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple,
                                                  required=False)
    product: forms.ModelChoiceField[Product] = forms.ModelChoiceField(
        queryset=None, required=False, label="Product lock", empty_label="Any product")
    locked_key = forms.CharField(
        required=False, label="Key lock", max_length=23,
        help_text="Optional: a key string (of the locked product) this token is limited to.",
    )
    key_lock_required = forms.BooleanField(
        required=False, label="Key lock -1: each call names its key",
        help_text="For tokens shipped inside your application: every call must name a key "
                  "(ProductId and Key) and reaches that key only. With -1 the token may also "
                  "call auth.KeyLock (no need to tick it above), which turns it into a token "
                  "locked to the user's key.")
    fields_hidden = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple, required=False, choices=HIDEABLE_FIELDS,
        label="Fields to hide", help_text="Hidden from every license this token returns "
        "(Activate, GetKey, listings), whatever the call asks for.")
    trial_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650, label="Trial days",
        help_text="Length of trial keys CreateTrialKey makes with this token (empty: the "
                  "product's trial length).")
    max_increment = forms.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, label="Largest increment",
        help_text="Largest amount one increment or decrement of a data object may use, and "
                  "one UploadValuesToKey may change each object by (empty: no limit). Set*Value "
                  "methods are not bounded by it: leave them off a token that must be.")

    def __init__(self, *args: Any, products: QuerySet[Product] | None = None,
                 method_groups: Mapping[str, Sequence[str]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "product").queryset = products
        self.method_groups = method_groups or {}
        choice_field(self, "permissions").choices = [
            (m, m) for methods in self.method_groups.values() for m in methods
        ]
        choice_field(self, "permission_groups").choices = [
            (group, group) for group in self.method_groups]

    def clean_locked_key(self) -> str:
        return self.cleaned_data["locked_key"].strip().upper()

    def clean_fields_hidden(self) -> int:
        return sum(int(bit) for bit in self.cleaned_data["fields_hidden"])

    def clean(self) -> dict[str, Any]:
        """A ticked group stands for all its methods."""
        data = cleaned(super().clean())
        chosen = set(data.get("permissions") or [])
        for group in data.get("permission_groups") or []:
            chosen.update(self.method_groups.get(group, []))
        data["permissions"] = [m for methods in self.method_groups.values() for m in methods
                               if m in chosen]
        return data


class LicenseFileForm(forms.Form):
    machine_code = forms.CharField(
        required=False, max_length=128,
        help_text="Activate this device if needed and make the file for it. Leave empty for a "
                  "file with all the key's activated devices.",
    )
    custom_code = forms.BooleanField(
        required=False, label="My software makes its own machine codes",
        help_text="Tick to use a code in none of the official clients' formats.")
    friendly_name = forms.CharField(required=False, max_length=255, label="Device name")
    file_format = forms.ChoiceField(label="Format", choices=[])
    validity_days = forms.IntegerField(
        label="Valid for (days)", min_value=1, max_value=36500, initial=365,
        help_text="Your software should load the file with this signature expiration interval.",
    )

    def __init__(self, *args: Any, formats: Sequence[tuple[str, str]] = (),
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "file_format").choices = formats

    def clean(self) -> dict[str, Any]:
        """A code that no official client prints is most likely a typo, which would spend a
        seat: it takes the vendor's word (custom_code) to use one."""
        data = cleaned(super().clean())
        code = data.get("machine_code", "").strip()
        if code and not data.get("custom_code") and official_format(code) is None:
            self.add_error("machine_code", "This does not look like a machine code of the "
                           "official clients. " + OFFICIAL_HELP + " If your software makes "
                           "its own codes, tick the box below.")
        return data


class BulkActivationForm(forms.Form):
    lines = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
        label="Machine codes",
        help_text="One device per line: machine code, optionally a tab (or space, or comma) and "
                  "the device name, as the machine-code scripts print them.",
    )
    upload = forms.FileField(required=False, label="Or upload a file (.txt or .csv)")
    new_limit = forms.IntegerField(
        required=False, min_value=0, max_value=1_000_000, label="Seat limit",
        help_text="Change the key's maximum number of machines in the same step (optional).",
    )

    MAX_UPLOAD = 8 * 1024 * 1024

    def clean(self) -> dict[str, Any]:
        data = cleaned(super().clean())
        upload = data.get("upload")
        if upload:
            if upload.size > self.MAX_UPLOAD:
                raise forms.ValidationError("The file is larger than 8 MB.")
            raw = upload.read()
            # PowerShell 5's `>` writes UTF-16 with a byte-order mark.
            encoding = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
            try:
                data["lines"] = raw.decode(encoding)
            except UnicodeDecodeError:
                raise forms.ValidationError("The file is not UTF-8 text.") from None
        if not (data.get("lines") or "").strip():
            raise forms.ValidationError("Paste the machine codes or upload a file.")
        return data


class ActivationFormForm(forms.Form):
    title = forms.CharField(max_length=200, help_text="Shown at the top of the public page.")
    instructions = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Shown under the title, e.g. where your software shows its machine code.")
    file_format = forms.ChoiceField(choices=FORMATS, initial=FORMATS[0][0])
    validity_days = forms.IntegerField(
        label="File valid for (days)", min_value=1, max_value=MAX_VALIDITY_DAYS, initial=365,
        help_text="Told to the end user; use the same number as signature_expiration_interval "
                  "in your software.")
    ask_friendly_name = forms.BooleanField(required=False, label="Ask for a device name")
    allow_new_devices = forms.BooleanField(
        required=False, initial=True, label="Allow new devices",
        help_text="Off: only devices already activated on the key, or in its allowed "
                  "machines, get a file.")
    enabled = forms.BooleanField(required=False, initial=True, label="Form is open")
    machine_code_format = forms.ChoiceField(
        label="Accept", choices=MACHINE_CODE_FORMATS, initial=OFFICIAL, required=False,
        help_text="Anything else is refused before it can take a seat: "
                  + "; ".join(fmt.description for fmt in OFFICIAL_FORMATS) + ".")
    machine_code_pattern = forms.CharField(
        required=False, max_length=MAX_PATTERN_LENGTH, label="Pattern",
        widget=forms.TextInput(attrs={"class": "mono", "spellcheck": "false"}),
        help_text="For your own pattern: a regular expression the whole code must match, e.g. "
                  "[0-9A-F]{4}(?:-[0-9A-F]{4}){3}.")
    machine_code_example = forms.CharField(
        required=False, max_length=128, label="Example machine code",
        widget=forms.TextInput(attrs={"class": "mono", "spellcheck": "false"}),
        help_text="For your own pattern: shown to end users next to the field.")

    def clean_machine_code_format(self) -> str:
        return self.cleaned_data["machine_code_format"] or OFFICIAL


# --- Customer portal access, managed by the vendor. ---


def parse_data_objects(text: str) -> list[dict]:
    """`name=value` lines: a whole number becomes the int value, anything else the string."""
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise forms.ValidationError(f"Line {number}: write name=value.")
        value = value.strip()
        try:
            items.append({"name": name.strip()[:100], "string_value": "",
                          "int_value": int(value)})
        except ValueError:
            items.append({"name": name.strip()[:100], "string_value": value[:10000],
                          "int_value": 0})
    return items


def format_data_objects(items: list[dict]) -> str:
    return "\n".join(
        f"{item['name']}={item.get('string_value') or item.get('int_value', 0)}"
        for item in items or [])


class LicenseTemplateForm(KeyFieldsMixin):
    name = forms.CharField(max_length=100)
    period = forms.IntegerField(label="Period (days)", min_value=0, max_value=36500, initial=365,
                                help_text="A key made from the template expires this many days "
                                          "after it is created.")
    floating_time_interval = forms.IntegerField(
        label="Floating time interval (seconds)", min_value=0, max_value=10**9, initial=0,
        help_text="0 = not sold for floating use.")
    max_overdraft = forms.IntegerField(label="Max overdraft", min_value=0, max_value=10**6,
                                       initial=0)
    data_objects = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="One per line: name=text or name=number.")
    field_order = ["name", "period"]

    def clean_data_objects(self) -> list[dict]:
        return parse_data_objects(self.cleaned_data["data_objects"])


class KeyCreateWithTemplateForm(KeyCreateForm):
    """Key creation with "Save as template": the same parameters under a name."""

    save_as_template = forms.BooleanField(required=False, label="Save as template")
    # The metaclass moves fields into base_fields, so this field does not hide
    # Form.template_name (the template the form renders with); the stubs cannot know that.
    template_name = forms.CharField(  # type: ignore[assignment]
        required=False, max_length=100, label="Template name")
    template_notes = forms.CharField(
        required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}),
        label="Template notes",
        help_text="Every key made from the template gets these notes (sent with its license, "
                  "shown to resellers). Empty unless you write some: the key's notes above "
                  "stay with this key.")

    def clean(self) -> dict[str, Any]:
        data = cleaned(super().clean())
        if data.get("save_as_template") and not data.get("template_name", "").strip():
            self.add_error("template_name", "Give the template a name.")
        return data


class TokenWithTemplateLockForm(TokenForm):
    template_lock: forms.ModelChoiceField[LicenseTemplate] = forms.ModelChoiceField(
        queryset=None, required=False, label="Template lock", empty_label="Any template",
        help_text="key.CreateKeyFromTemplate may use this license template only.")

    def __init__(self, *args: Any, templates: QuerySet[LicenseTemplate] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "template_lock").queryset = templates


class RightGrantForm(forms.Form):
    template: forms.ModelChoiceField[LicenseTemplate] = forms.ModelChoiceField(
        queryset=None, label="License template")
    quota = forms.IntegerField(label="Licenses", min_value=1, max_value=10**6)
    valid_until = DayField(required=False, label="Valid until",
                           help_text="Optional: the right ends at the start of this day.")
    name = forms.CharField(max_length=100, required=False)

    def __init__(self, *args: Any, templates: QuerySet[LicenseTemplate] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "template").queryset = templates


class RightChangeForm(forms.Form):
    ACTIONS = [("quota", "Set quota"), ("pause", "Pause"), ("resume", "Resume"),
               ("stop", "Stop")]
    action = forms.ChoiceField(choices=ACTIONS)
    quota = forms.IntegerField(required=False, min_value=0, max_value=10**6)

    def clean(self) -> dict[str, Any]:
        data = cleaned(super().clean())
        if data.get("action") == "quota" and data.get("quota") is None:
            self.add_error("quota", "Give the new quota.")
        return data


class DateRangeForm(forms.Form):
    since = DayField(required=False, label="From")
    until = DayField(required=False, label="To (inclusive)")

