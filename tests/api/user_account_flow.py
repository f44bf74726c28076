"""What the .NET client does in Cryptolens' user account authorization (Cryptolens.Licensing:
UserAccountAuth/AuthMethods.cs CreateAuthRequest and GetToken, Core/HelperMethods.cs
SendRequestToWebAPI3), for the tests: DotNetApp, and plausible_params for the methods' wire
tests."""

from __future__ import annotations

import base64
import json
import secrets
import struct
import time
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.test import Client

from apps.licensing import tokens
from apps.licensing.models import AccessToken, Customer, CustomerMembership
from apps.licensing.services.app_authorizations import (
    app_authorization_approve,
    app_authorization_challenge,
    authorize_request_parse,
)
from tests.factories import UserFactory

SCOPE_NAMES = (  # .NET Scope's properties, as JsonConvert.SerializeObject writes them all
    "Deactivate", "CreateKey", "GetKeys", "Activate", "ExtendLicense", "AddFeature",
    "RemoveFeature", "AddDataObject", "ListDataObjects", "SetStringValue", "SetIntValue",
    "IncrementIntValue", "DecrementIntValue", "RemoveDataObject", "BlockKey", "UnblockKey",
    "KeyInfo", "GetFeatureDefinitions", "ChangeNotes", "GetCustomers", "ChangeCustomer",
    "AddCustomer", "RemoveCustomer", "GetCustomerLicenses", "TrialActivation",
    "MachineLockLimit", "GetLicenseKeys", "PaymentForms",
)


def _b64(value: int) -> str:
    return base64.b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).decode()


@dataclass
class DotNetApp:
    """One run of UserAccount.GetLicenseKeys: a fresh RSA-2048 key and 30 random bytes."""

    token: str  # the vendor's access token shipped with the application
    token_id: int
    machine_code: str = "MC-4F2A-LAPTOP"
    app_name: str = "Northwind Desktop"
    expires: int = 5
    scope_names: tuple[str, ...] = ("GetLicenseKeys",)  # new Scope { GetLicenseKeys = true }
    private_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048))
    authorization_token: bytes = field(default_factory=lambda: secrets.token_bytes(30))
    api: Client = field(default_factory=Client)

    @property
    def auth_b64(self) -> str:
        return base64.b64encode(self.authorization_token).decode()

    def authorize_url(self) -> str:
        """AuthMethods.CreateAuthRequest: DOMAIN + "User/AuthorizeApp/?" + GetQueryString(model),
        the AuthorizeAppModel's properties in order, values Uri.EscapeDataString'd."""
        numbers = self.private_key.public_key().public_numbers()
        public = json.dumps({"D": None, "DP": None, "DQ": None, "Exponent": _b64(numbers.e),
                             "InverseQ": None, "Modulus": _b64(numbers.n), "P": None,
                             "Q": None}, separators=(",", ":"))
        scope = {name: name in self.scope_names for name in SCOPE_NAMES} | {
            "LockToProduct": 0, "LockToKey": 0, "LockToFeature": 0}
        fields = [("AuthorizationToken", self.auth_b64), ("PublicKey", public),
                  ("Scope", json.dumps(scope, separators=(",", ":"))),
                  ("VendorAppName", self.app_name), ("Expires", str(self.expires)),
                  ("TokenId", str(self.token_id)), ("MachineCode", self.machine_code),
                  ("DeviceName", "ALICE-LAPTOP"), ("Algorithm", "RSA_2048")]
        return "/User/AuthorizeApp/?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in fields)

    def call(self, path: str, token: str | None = None, **fields) -> dict:
        """HelperMethods.SendRequestToWebAPI3: a form POST of the model's properties (PascalCase,
        .ToString()), then token, v and modelversion."""
        data = {k: str(v) for k, v in fields.items()} | {
            "token": token or self.token, "v": "1", "modelversion": "1"}
        response = self.api.post("/api" + path, data)
        assert response.status_code == 200
        return response.json()

    def get_challenge(self) -> dict:
        return self.call("/auth/GetChallenge", AuthorizationToken=self.auth_b64)

    def sign(self, challenge: str, date: int) -> str:
        to_sign = base64.b64decode(challenge) + struct.pack("<q", date)
        return base64.b64encode(self.private_key.sign(
            to_sign, padding.PKCS1v15(), hashes.SHA512())).decode()

    def get_token(self, challenge: str, *, date: int | None = None,
                  signature: str | None = None) -> dict:
        date = int(time.time()) if date is None else date
        return self.call("/auth/GetToken/", AuthorizationToken=self.auth_b64, Date=date,
                         SignedChallenge=signature or self.sign(challenge, date))

    def obtain_token(self) -> str:
        answer = self.get_token(self.get_challenge()["challenge"])
        assert answer["result"] == 0, answer
        return answer["token"]

    def get_license_keys(self, token: str) -> dict:
        return self.call("/User/GetLicenseKeys", token, Sign=True,
                         MachineCode=self.machine_code, SignMethod="LinqSign")



def plausible_params(name: str, *, token: str, customer: Customer) -> dict:
    """Parameters with which `name` (auth.GetChallenge, auth.GetToken, user.GetLicenseKeys)
    succeeds: a person of `customer` approved an application of the token's vendor; for
    GetLicenseKeys the application's token is in "token"."""
    decoded = tokens.decode(token)
    assert decoded is not None
    app = DotNetApp(token, decoded[0])
    person = UserFactory()
    membership = CustomerMembership.objects.create(customer=customer, user=person)
    query = app.authorize_url().partition("?")[2]
    asked = authorize_request_parse({k: unquote(v) for k, v in
                                     (part.split("=", 1) for part in query.split("&"))})
    app_authorization_approve(request=asked, membership=membership, user=person,
                              token=AccessToken.objects.get(pk=decoded[0]))
    if name == "auth.GetChallenge":
        return {"AuthorizationToken": app.auth_b64}
    challenge = app_authorization_challenge(token=AccessToken.objects.get(pk=decoded[0]),
                                            authorization_token=app.auth_b64)
    date = int(time.time())
    signed = {"AuthorizationToken": app.auth_b64, "Date": date,
              "SignedChallenge": app.sign(challenge, date)}
    if name == "auth.GetToken":
        return signed
    issued = app.call("/auth/GetToken/", **signed)
    assert issued["result"] == 0, issued
    return {"token": issued["token"], "Sign": "True", "MachineCode": app.machine_code}
