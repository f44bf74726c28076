"""Cryptolens' own SDK licensing flow against this server: the AssemblySigner of
Cryptolens/sdk-licensing (AssemblySigner/Program.cs) replayed call for call, as raw HTTP in
the .NET client's shape, and checked the way .NET's Helpers.VerifySDKLicenseCertificate checks.

The signer (run by the developer who bought an SDK license):
1. key/Activate with the ActivateToken and the developer's machine code (LinqSign, unsigned);
2. looks for the data object `cryptolens_assemblyhash` in the answer's DataObjects, and adds it
   with the DataObjectToken if absent (data/AddDataObjectToKey, StringValue "",
   CheckForDuplicates true);
3. for each assembly: data/SetStringValueToKey (Id, base64 SHA-512 of the file), then
   key/Activate again (StringSign) and writes the answer as `<assembly>.skm`.
The SDK then loads `<assembly>.skm` with the vendor's RSA public key and compares the signed
`cryptolens_assemblyhash` with the hash of the running assembly.

Two tokens, as the vendor docs recommend: one with key.Activate only, one with the two data
methods and key lock -1 (every call names its key). The .NET client posts to
`<server>/api/` + "/data/adddataobjecttokey/" (cryptolens-dotnet SKMv3/Data.cs, Key.cs), so
the paths here are lower case with a double and a trailing slash.

Also the variant issue #20 describes: the fingerprint stored as a data object on the machine
code (data/AddDataObjectToMachineCode + SetStringValueToMachineCode)."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from licensing.models import LicenseKey as ClientLicense

from apps.api import errors
from apps.licensing import signing
from apps.licensing.models import Activation, DataObject, LicenseKey
from apps.licensing.services.data_objects import DUPLICATE_NAME, MACHINE_NOT_ACTIVATED
from apps.licensing.services.seats import LIMIT_REACHED
from apps.licensing.signing import public_key_xml
from apps.usage import states
from apps.usage.models import WebApiLog
from tests.factories import ProductFactory, make_key, make_vendor

from .live import Server

HASH_OBJECT = "cryptolens_assemblyhash"
# What .NET's Helpers.GetOSStats() sends with every Activate.
OS_INFO = json.dumps({"OSName": "Windows", "OSVersion": "10.0.19045.0", "Is64Bit": True})
DEV_MACHINE = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"


# --- The .NET client on the wire ------------------------------------------------------------


def _dotnet_value(value: Any) -> str:
    """How HelperMethods.SendRequestToWebAPI3 writes a model property: ToString(), so bools
    are True/False, enums their name; null strings are sent as ""."""
    if value is None:
        return ""
    return str(value)


def dotnet_call(server: Server, path: str, token: str, model_version: int = 1,
                **model: Any) -> dict:
    """cryptolens-dotnet's HelperMethods.SendRequestToWebAPI3: a form POST to
    `<server>/api/` + path, the model's properties (LicenseServerUrl, which picks the server,
    is not sent), then token, v=1 and modelversion."""
    assert path.startswith("/") and path.endswith("/") and path == path.lower()
    form = {name: _dotnet_value(value) for name, value in model.items()}
    form.update(token=token, v="1", modelversion=str(model_version))
    url = server.base + path  # ".../api//key/activate/", as .NET sends it
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(),
                                     headers={"User-Agent": "Cryptolens.Licensing/4.0.49.0"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        return json.loads(response.read())


def _field(obj: dict, name: str) -> Any:
    """A property by name, any case (Newtonsoft and System.Text.Json read them so)."""
    (value,) = [v for k, v in obj.items() if k.lower() == name.lower()]
    return value


def _activate_model(config: SignerConfig, key: str, machine_code: str,
                    sign_method: str) -> dict[str, Any]:
    return {"ProductId": config.product_id, "Key": key, "Sign": sign_method == "StringSign",
            "MachineCode": machine_code, "FieldsToReturn": 0, "Metadata": False,
            "FloatingTimeInterval": 0, "MaxOverdraft": 0, "SignMethod": sign_method,
            "OSInfo": OS_INFO}


# --- AssemblySigner/Program.cs --------------------------------------------------------------


@dataclass
class SignerConfig:
    """The vendor's config.json of the AssemblySigner."""

    product_id: int
    activate_token: str
    data_object_token: str


@dataclass
class SignerRun:
    error: str = ""  # the "Could not activate the following device" message
    first_activation: dict = field(default_factory=dict)
    added: dict | None = None  # the AddDataObjectToKey answer, when it was called
    object_id: int = -1
    set_answers: list[dict] = field(default_factory=list)
    certificates: list[dict] = field(default_factory=list)


def assembly_hash(path: Path) -> str:
    """Helpers.GetAssemblyHash: base64 of the file's SHA-512."""
    return base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def run_assembly_signer(server: Server, config: SignerConfig, key: str,
                        assemblies: list[Path], machine_code: str = DEV_MACHINE) -> SignerRun:
    """Program.cs's Main after reading config.json and build.json, for `key` on
    `machine_code` (Helpers.GetMachineCodePI()): what it sends, in its order, with its
    checks (it reads no answer of SetStringValue or of the second Activate)."""
    run = SignerRun()
    response = dotnet_call(server, "/key/activate/", config.activate_token,
                           **_activate_model(config, key, machine_code, "LinqSign"))
    run.first_activation = response
    if _field(response, "result") != 0:
        run.error = _field(response, "message")
        return run
    for data_object in _field(_field(response, "licenseKey"), "dataObjects"):
        if _field(data_object, "name") == HASH_OBJECT:
            run.object_id = _field(data_object, "id")
            break
    if run.object_id == -1:
        run.added = dotnet_call(server, "/data/adddataobjecttokey/", config.data_object_token,
                                ProductId=config.product_id, Key=key, Name=HASH_OBJECT,
                                StringValue="", IntValue=0, CheckForDuplicates=True)
        if _field(run.added, "result") == 0:
            run.object_id = _field(run.added, "id")
    for path in assemblies:
        run.set_answers.append(dotnet_call(
            server, "/data/setstringvaluetokey/", config.data_object_token, Id=run.object_id,
            StringValue=assembly_hash(path), ProductId=config.product_id, Key=key))
        cert = dotnet_call(server, "/key/activate/", config.activate_token,
                           **_activate_model(config, key, machine_code, "StringSign"))
        run.certificates.append(cert)
        # JsonConvert.SerializeObject(RawResponse): PascalCase properties.
        path.with_name(path.name + ".skm").write_text(json.dumps({
            "LicenseKey": _field(cert, "licenseKey"), "Signature": _field(cert, "signature"),
            "Metadata": None, "Result": _field(cert, "result"),
            "Message": _field(cert, "message")}))
    return run


def verify_sdk_license_certificate(public_key: str, assembly: Path) -> ClientLicense | None:
    """Helpers.VerifySDKLicenseCertificate(RSAPubKey, null, path): load `<assembly>.skm`
    with the public key (here through the official Python client, which verifies the
    signature), then compare its cryptolens_assemblyhash with the assembly's hash."""
    license_key = ClientLicense.load_from_string(
        public_key, assembly.with_name(assembly.name + ".skm").read_text())
    if license_key is None or not license_key.data_objects:
        return None
    signed_hash = next((d["StringValue"] for d in license_key.data_objects
                        if d["Name"] == HASH_OBJECT), "")
    if assembly_hash(assembly) != signed_hash:
        return None
    return license_key


# --- Fixtures and helpers -------------------------------------------------------------------


@pytest.fixture
def config(server: Server) -> SignerConfig:
    return SignerConfig(
        product_id=server.product.pk,
        activate_token=server.token_for(["key.Activate"]),
        data_object_token=server.token_for(
            ["data.AddDataObjectToKey", "data.SetStringValueToKey"], key_lock_required=True))


@pytest.fixture
def sdk_key(server: Server) -> LicenseKey:
    """A developer's SDK license: two developer machines, features 5 and 6 (the SDK's
    methods, as in Cryptolens' SDK example)."""
    return make_key(server.product, max_no_of_machines=2,
                    features=[False] * 4 + [True, True, False, False])


def _assembly(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(b"MZ\x90\x00" + content)
    return path


def _signed_license(server: Server, cert: dict) -> dict:
    """The certificate's license, its signature checked with cryptography (RSA PKCS#1 v1.5,
    SHA-256 over the base64-decoded licenseKey)."""
    payload = base64.b64decode(cert["licenseKey"])
    signing.load_public_key(server.vendor.signing_key.public_key_pem).verify(
        base64.b64decode(cert["signature"]), payload, padding.PKCS1v15(), hashes.SHA256())
    return json.loads(payload)


def _hash_objects(key: LicenseKey) -> list[tuple[str, str]]:
    return list(DataObject.objects.filter(key=key, name=HASH_OBJECT)
                .values_list("name", "string_value"))


# --- The flow -------------------------------------------------------------------------------


def test_the_signed_certificate_verifies_and_holds_the_assemblys_hash(server, config, sdk_key,
                                                                      tmp_path):
    assembly = _assembly(tmp_path, "Consumer.App.dll", b"the developer's application v1")

    run = run_assembly_signer(server, config, sdk_key.key, [assembly])

    assert run.error == ""
    assert run.added == {"id": run.object_id, "result": 0, "message": ""}
    assert run.set_answers == [{"result": 0, "message": ""}]
    assert _hash_objects(sdk_key) == [(HASH_OBJECT, assembly_hash(assembly))]
    (cert,) = run.certificates
    signed = _signed_license(server, cert)
    assert signed["Key"] == sdk_key.key and signed["ProductId"] == server.product.pk
    assert [(d["Id"], d["Name"], d["StringValue"]) for d in signed["DataObjects"]] == [
        (run.object_id, HASH_OBJECT, assembly_hash(assembly))]
    assert [m["Mid"] for m in signed["ActivatedMachines"]] == [DEV_MACHINE]
    # What the SDK does at start-up.
    verified = verify_sdk_license_certificate(server.pubkey, assembly)
    assert verified is not None
    assert (verified.key, verified.f5, verified.f6, verified.f7) == (sdk_key.key, True, True,
                                                                      False)
    assert [m.Mid for m in verified.activated_machines] == [DEV_MACHINE]
    # One seat: the developer's machine, activated once and re-activated after.
    assert list(Activation.objects.filter(key=sdk_key).values_list("machine_code", flat=True)) \
        == [DEV_MACHINE]
    assert list(WebApiLog.objects.filter(key=sdk_key.key).order_by("id")
                .values_list("method", "state")) == [
        ("key.Activate", states.ACTIVATION_NEW),
        ("data.AddDataObjectToKey", states.DATA_OBJECT_CHANGED),
        ("data.SetStringValueToKey", states.DATA_OBJECT_CHANGED),
        ("key.Activate", states.ACTIVATION_EXISTING)]


def test_the_first_activation_is_dotnets_unsigned_linq_answer(server, config, sdk_key):
    run = run_assembly_signer(server, config, sdk_key.key, [])

    license_key = _field(run.first_activation, "licenseKey")
    assert isinstance(license_key, dict)  # an object, not base64 (SignMethod=LinqSign)
    assert _field(license_key, "key") == sdk_key.key
    assert _field(license_key, "dataObjects") == []
    assert [_field(m, "mid") for m in _field(license_key, "activatedMachines")] == [DEV_MACHINE]


def test_signing_a_second_assembly_changes_the_value(server, config, sdk_key, tmp_path):
    first = _assembly(tmp_path, "First.dll", b"first assembly")
    second = _assembly(tmp_path, "Second.dll", b"second assembly")

    run = run_assembly_signer(server, config, sdk_key.key, [first, second])

    hashes_signed = [
        [d["StringValue"] for d in _signed_license(server, c)["DataObjects"]]
        for c in run.certificates]
    assert hashes_signed == [[assembly_hash(first)], [assembly_hash(second)]]
    assert _hash_objects(sdk_key) == [(HASH_OBJECT, assembly_hash(second))]
    # Each .skm is a snapshot signed for its own assembly: both verify, each for its own.
    assert verify_sdk_license_certificate(server.pubkey, first) is not None
    assert verify_sdk_license_certificate(server.pubkey, second) is not None
    second.with_name("Second.dll.skm").write_text(first.with_name("First.dll.skm").read_text())
    assert verify_sdk_license_certificate(server.pubkey, second) is None


def test_one_changed_byte_fails_the_hash_comparison(server, config, sdk_key, tmp_path):
    assembly = _assembly(tmp_path, "Consumer.App.dll", b"the developer's application v1")
    run_assembly_signer(server, config, sdk_key.key, [assembly])
    certificate = assembly.with_name("Consumer.App.dll.skm").read_text()
    content = bytearray(assembly.read_bytes())
    content[10] ^= 0x01

    assembly.write_bytes(bytes(content))

    assert verify_sdk_license_certificate(server.pubkey, assembly) is None
    # It is the hash that no longer matches: the certificate's signature still holds.
    assert ClientLicense.load_from_string(server.pubkey, certificate) is not None


def test_a_certificate_edited_to_the_new_hash_fails_the_signature(server, config, sdk_key,
                                                                  tmp_path):
    assembly = _assembly(tmp_path, "Consumer.App.dll", b"the developer's application v1")
    run_assembly_signer(server, config, sdk_key.key, [assembly])
    skm = assembly.with_name("Consumer.App.dll.skm")
    assembly.write_bytes(assembly.read_bytes() + b" patched")
    saved = json.loads(skm.read_text())
    inner = json.loads(base64.b64decode(saved["LicenseKey"]))
    inner["DataObjects"][0]["StringValue"] = assembly_hash(assembly)

    saved["LicenseKey"] = base64.b64encode(json.dumps(inner).encode()).decode()
    skm.write_text(json.dumps(saved))

    assert verify_sdk_license_certificate(server.pubkey, assembly) is None


def test_another_vendors_public_key_does_not_verify_the_certificate(server, config, sdk_key,
                                                                    tmp_path):
    assembly = _assembly(tmp_path, "Consumer.App.dll", b"app")
    run_assembly_signer(server, config, sdk_key.key, [assembly])
    stranger = make_vendor("Stranger")

    assert verify_sdk_license_certificate(
        public_key_xml(stranger.signing_key.public_key_pem), assembly) is None
    assert verify_sdk_license_certificate(server.pubkey, assembly) is not None


def test_a_second_run_finds_the_data_object_and_adds_no_duplicate(server, config, sdk_key,
                                                                   tmp_path):
    first = _assembly(tmp_path, "App.dll", b"release 1")
    first_run = run_assembly_signer(server, config, sdk_key.key, [first])
    first.write_bytes(b"MZ\x90\x00release 2")

    second_run = run_assembly_signer(server, config, sdk_key.key, [first])

    assert second_run.added is None  # found in the Activate answer's DataObjects
    assert second_run.object_id == first_run.object_id
    assert _hash_objects(sdk_key) == [(HASH_OBJECT, assembly_hash(first))]
    assert verify_sdk_license_certificate(server.pubkey, first) is not None
    # Had it called AddDataObjectToKey anyway, CheckForDuplicates refuses a second one.
    again = dotnet_call(server, "/data/adddataobjecttokey/", config.data_object_token,
                        ProductId=server.product.pk, Key=sdk_key.key, Name=HASH_OBJECT,
                        StringValue="", IntValue=0, CheckForDuplicates=True)
    assert again == {"result": 1, "message": DUPLICATE_NAME}
    assert len(_hash_objects(sdk_key)) == 1


def test_a_developer_machine_beyond_the_keys_limit_cannot_sign(server, config, tmp_path):
    key = make_key(server.product, max_no_of_machines=1)
    assembly = _assembly(tmp_path, "App.dll", b"app")
    assert run_assembly_signer(server, config, key.key, [assembly]).error == ""
    skm_before = assembly.with_name("App.dll.skm").read_text()

    run = run_assembly_signer(server, config, key.key, [assembly], machine_code="OTHER-PC")

    assert run.error == LIMIT_REACHED
    assert run.added is None and run.set_answers == [] and run.certificates == []
    assert assembly.with_name("App.dll.skm").read_text() == skm_before
    assert list(Activation.objects.filter(key=key).values_list("machine_code", flat=True)) \
        == [DEV_MACHINE]


def test_a_blocked_key_cannot_sign(server, config, tmp_path):
    key = make_key(server.product, max_no_of_machines=1, block=True)

    run = run_assembly_signer(server, config, key.key, [_assembly(tmp_path, "A.dll", b"a")])

    assert run.error == "The key is blocked and cannot be accessed."
    assert not DataObject.objects.filter(key=key).exists()


# --- What the two tokens may do -------------------------------------------------------------


def test_each_token_does_only_its_part(server, config, sdk_key):
    base = {"ProductId": server.product.pk, "Key": sdk_key.key}

    as_data = dotnet_call(server, "/key/activate/", config.data_object_token,
                          **_activate_model(config, sdk_key.key, DEV_MACHINE, "StringSign"))
    as_activate = dotnet_call(server, "/data/adddataobjecttokey/", config.activate_token,
                              **base, Name=HASH_OBJECT, StringValue="",
                              CheckForDuplicates=True)

    assert as_data == {"result": 1, "message": errors.ACCESS_DENIED}
    assert as_activate == {"result": 1, "message": errors.ACCESS_DENIED}
    assert not DataObject.objects.filter(key=sdk_key).exists()
    assert not Activation.objects.filter(key=sdk_key).exists()


def test_the_minus_one_data_token_must_name_a_key_of_its_vendor(server, config, sdk_key):
    foreign_product = ProductFactory(vendor=make_vendor("Another vendor"))
    foreign_key = make_key(foreign_product, max_no_of_machines=1)
    token = config.data_object_token
    add = {"Name": HASH_OBJECT, "StringValue": "", "CheckForDuplicates": True}

    foreign = dotnet_call(server, "/data/adddataobjecttokey/", token,
                          ProductId=foreign_product.pk, Key=foreign_key.key, **add)
    unknown = dotnet_call(server, "/data/adddataobjecttokey/", token,
                          ProductId=server.product.pk, Key="AAAAA-BBBBB-CCCCC-DDDDD", **add)
    no_key = dotnet_call(server, "/data/adddataobjecttokey/", token,
                         ProductId=server.product.pk, **add)

    assert foreign == {"result": 1, "message": errors.PRODUCT_NOT_FOUND}
    assert unknown == {"result": 1, "message": errors.KEY_NOT_FOUND}
    assert no_key == {"result": 1, "message": errors.KEY_LOCKED}
    assert not DataObject.objects.exists()


def test_the_data_token_cannot_set_another_keys_hash_through_its_own_key(server, config,
                                                                         sdk_key, tmp_path):
    """The DataObjectToken ships to every developer: naming its own key, it must not reach
    another developer's cryptolens_assemblyhash by Id."""
    victim = make_key(server.product, max_no_of_machines=1)
    victim_run = run_assembly_signer(server, config, victim.key,
                                     [_assembly(tmp_path, "Victim.dll", b"victim")],
                                     machine_code="VICTIM-PC")

    answer = dotnet_call(server, "/data/setstringvaluetokey/", config.data_object_token,
                         Id=victim_run.object_id, StringValue="forged",
                         ProductId=server.product.pk, Key=sdk_key.key)

    assert answer == {"result": 1, "message": errors.DATA_OBJECT_NOT_FOUND}
    assert _hash_objects(victim) == [(HASH_OBJECT, assembly_hash(tmp_path / "Victim.dll"))]


# --- Issue #20's variant: the fingerprint on the machine code -------------------------------


FINGERPRINT = hashlib.sha256(b"the developer's application").hexdigest()


def _post(url: str, params: dict[str, Any]) -> dict:
    """The Python client's spelling of the machine-code methods (licensing.methods.Data):
    "/data/AddDataObjectToMachineCode/" after ".../api/"."""
    body = urllib.parse.urlencode({k: str(v) for k, v in params.items()}).encode()
    with urllib.request.urlopen(url, body, timeout=10) as response:
        assert response.status == 200
        return json.loads(response.read())


@pytest.fixture
def machine_token(server: Server) -> str:
    return server.token_for(["data.AddDataObjectToMachineCode",
                             "data.SetStringValueToMachineCode",
                             "data.ListDataObjectsToMachineCode"], key_lock_required=True)


def test_the_fingerprint_on_the_machine_code(server, config, sdk_key, machine_token):
    base = {"ProductId": server.product.pk, "Key": sdk_key.key, "MachineCode": DEV_MACHINE}
    before = _post(server.base + "/data/AddDataObjectToMachineCode/",
                   {"token": machine_token, **base, "Name": "sdk_fingerprint"})
    activated = dotnet_call(server, "/key/activate/", config.activate_token,
                            **_activate_model(config, sdk_key.key, DEV_MACHINE, "StringSign"))

    added = _post(server.base + "/data/AddDataObjectToMachineCode/",
                  {"token": machine_token, **base, "Name": "sdk_fingerprint",
                   "StringValue": "", "CheckForDuplicates": "True"})
    changed = _post(server.base + "/data/SetStringValueToMachineCode/",
                    {"token": machine_token, **base, "Id": added["id"],
                     "StringValue": FINGERPRINT})
    listed = _post(server.base + "/data/ListDataObjectsToMachineCode/",
                   {"token": machine_token, **base})
    duplicate = _post(server.base + "/data/AddDataObjectToMachineCode/",
                      {"token": machine_token, **base, "Name": "sdk_fingerprint",
                       "CheckForDuplicates": "True"})
    again = dotnet_call(server, "/key/activate/", config.activate_token,
                        **_activate_model(config, sdk_key.key, DEV_MACHINE, "StringSign"))

    assert before == {"result": 1, "message": MACHINE_NOT_ACTIVATED}  # not activated yet
    assert activated["result"] == 0, activated
    assert added["result"] == 0 and changed == {"result": 0, "message": ""}
    assert listed["dataObjects"] == [{"id": added["id"], "name": "sdk_fingerprint",
                                      "stringValue": FINGERPRINT, "intValue": 0}]
    assert duplicate == {"result": 1, "message": DUPLICATE_NAME}
    obj = DataObject.objects.get(pk=added["id"])
    assert (obj.machine_key, obj.machine_code, obj.key, obj.string_value) == (
        sdk_key, DEV_MACHINE, None, FINGERPRINT)
    # Activate's signed license carries the key's data objects only: the machine's
    # fingerprint is not in it, so a verifier cannot check it offline from the .skm.
    signed = _signed_license(server, again)
    assert signed["DataObjects"] == []
    assert [m["Mid"] for m in signed["ActivatedMachines"]] == [DEV_MACHINE]
    assert FINGERPRINT not in json.dumps(signed)


def test_another_machines_fingerprint_is_out_of_reach(server, config, sdk_key, machine_token):
    for machine in (DEV_MACHINE, "OTHER-PC"):
        assert dotnet_call(server, "/key/activate/", config.activate_token, **_activate_model(
            config, sdk_key.key, machine, "StringSign"))["result"] == 0
    base = {"ProductId": server.product.pk, "Key": sdk_key.key}
    added = _post(server.base + "/data/AddDataObjectToMachineCode/",
                  {"token": machine_token, **base, "MachineCode": "OTHER-PC",
                   "Name": "sdk_fingerprint", "StringValue": "theirs"})

    answer = _post(server.base + "/data/SetStringValueToMachineCode/",
                   {"token": machine_token, **base, "MachineCode": DEV_MACHINE,
                    "Id": added["id"], "StringValue": FINGERPRINT})

    assert answer == {"result": 1, "message": errors.DATA_OBJECT_NOT_FOUND}
    assert DataObject.objects.get(pk=added["id"]).string_value == "theirs"
