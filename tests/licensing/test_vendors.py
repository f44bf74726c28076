"""Creating a vendor: its owner membership, its signing key and the object-log entry."""

import pytest

from apps.accounts.models import Membership, Role, Vendor
from apps.audit.models import ObjectLogEntry
from apps.core.errors import DomainError
from apps.licensing.models import SigningKey
from apps.licensing.services.vendors import vendor_create

from ..factories import UserFactory


def test_vendor_create_makes_owner_signing_key_and_log_entry(db):
    owner = UserFactory()
    vendor = vendor_create(owner=owner, name="  Initech  ")
    assert vendor.name == "Initech"
    assert Membership.objects.get(vendor=vendor).user == owner
    assert Membership.objects.get(vendor=vendor).role == Role.OWNER
    assert SigningKey.objects.filter(vendor=vendor).exists()
    entry = ObjectLogEntry.objects.for_vendor(vendor).for_object(vendor).get()
    assert (entry.action, entry.actor_type, entry.actor_label) == (
        "created", "user", owner.email)
    assert entry.changes == {"name": [None, "Initech"]}


@pytest.mark.parametrize("name", ["", "   "])
def test_vendor_without_a_name_is_refused(db, name):
    owner = UserFactory()
    with pytest.raises(DomainError):
        vendor_create(owner=owner, name=name)
    assert not Vendor.objects.exists()
    assert not Membership.objects.filter(user=owner).exists()
