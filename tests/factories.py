"""factory_boy factories. Domain objects that carry rules (keys, tokens) go through services."""

from __future__ import annotations

import factory
from allauth.account.models import EmailAddress

from apps.accounts.models import Membership, Reseller, Role, User, Vendor
from apps.audit.log import Actor
from apps.licensing import services
from apps.licensing.models import Activation, Customer, LicenseKey, Product
from apps.licensing.services.resellers import reseller_issue_key, right_grant, template_create
from apps.licensing.services.vendors import vendor_create

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        if create:
            obj.save()
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


def make_vendor(name: str = "Vendor", owner: User | None = None) -> Vendor:
    """A vendor as sign-up makes it: owner membership and signing key included."""
    return vendor_create(owner=owner or UserFactory(), name=name)


def add_member(vendor: Vendor, role: str = Role.READ_ONLY, user: User | None = None
               ) -> Membership:
    return Membership.objects.create(vendor=vendor, user=user or UserFactory(), role=role)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    vendor = factory.LazyFunction(make_vendor)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.org")
    company_name = "ACME"
    vendor = factory.LazyFunction(make_vendor)


def make_key(product: Product, **spec) -> LicenseKey:
    spec.setdefault("period", 30)
    return services.key_create(product=product, actor=Actor.for_system("test"),
                               spec=services.KeySpec(**spec))[0]


def make_activation(key: LicenseKey, machine_code: str = "machine-1", **fields) -> Activation:
    return Activation.objects.create(key=key, machine_code=machine_code, **fields)


def make_resold_key(product: Product, **reseller_fields) -> LicenseKey:
    """A key of `product` issued by a reseller (name "Partner" unless given) from a template
    the vendor granted it."""
    actor = Actor.for_system("t")
    template = template_create(product=product, actor=actor, name="T", max_no_of_machines=2)
    reseller = Reseller.objects.create(vendor=product.vendor, **{
        "name": "Partner", "email": "p@example.com", **reseller_fields})
    right = right_grant(reseller=reseller, template=template, quota=1, actor=actor)
    return reseller_issue_key(right=right, actor=actor)


def confirm_last_email(client) -> None:
    """Open the confirmation link of the last e-mail sent, as the recipient would."""
    import re

    from django.core import mail

    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", mail.outbox[-1].body)
    assert link, mail.outbox[-1].body
    response = client.post(link.group(1))
    assert response.status_code == 302, response.content.decode()[:2000]
