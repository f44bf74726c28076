"""The vendor-portal permission matrix's vocabulary: personas, expected-status rows and the
world each row is built from. Feature areas add their rows in their own modules
(`vendor_matrix_*.py`), merged into the matrix by tests/test_url_permissions.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tests.conftest import Tenant
from tests.matrix import LOGIN

PERSONAS = ("anonymous", "owner", "admin", "read_only", "other")
NOT_ALLOWED = (405, 405, 405, 405, 405)  # GET of a POST-only view, whoever asks

READ_PAGE = (LOGIN, 200, 200, 200, 200)  # a page of "your vendor", no object id in the URL
READ_OBJECT = (LOGIN, 200, 200, 200, 404)
WRITE_PAGE = (LOGIN, 200, 200, 403, 200)  # create pages: the other owner creates in his own
WRITE_OBJECT_PAGE = (LOGIN, 200, 200, 403, 404)
WRITE_OBJECT_POST = (LOGIN, 302, 302, 403, 404)
OWNER_OBJECT_POST = (LOGIN, 302, 403, 403, 404)


@dataclass
class World:
    tenant: Tenant
    other: Tenant
    token_id: int
    invitation_id: int
    portal_user_id: int  # a customer-portal user of tenant.customer, without permission
    portal_link_id: int  # an invitation link to tenant.customer's portal


@dataclass(frozen=True)
class Row:
    kwargs: Callable[[World], dict] = lambda w: {}
    get: tuple = READ_PAGE
    post: tuple | None = None  # None: a read page, POST is not part of its contract
    data: Callable[[World], dict] = lambda w: {}
    # An allowed POST leaves an object-log entry; per persona (a tuple like `post`) where an
    # answer is allowed but changes nothing for some (another vendor told "already removed").
    writes: bool | tuple[bool, ...] = True


