"""The Web API permissions an access token can hold, grouped by controller for the token form.

Almost every permission is one method, named by the wire's `<controller>.<Method>` spelling.
User authentication follows Cryptolens: two permissions cover the whole `userauth` controller,
`userauth.UserAuthNormal` (Login, ChangePassword with the old password or a reset token) and
`userauth.UserAuthAdmin` (every userauth method; see apps/api/methods/userauth.py)."""

USER_AUTH_NORMAL = "userauth.UserAuthNormal"
USER_AUTH_ADMIN = "userauth.UserAuthAdmin"

API_METHOD_GROUPS: dict[str, list[str]] = {
    "Key": [
        "key.Activate",
        "key.Deactivate",
        "key.GetKey",
        "key.CreateKey",
        "key.CreateTrialKey",
        "key.CreateKeyFromTemplate",
        "key.BlockKey",
        "key.UnblockKey",
        "key.ExtendLicense",
        "key.MachineLockLimit",
        "key.ChangeNotes",
        "key.ChangeCustomer",
        "key.ChangeReseller",
        "key.AddFeature",
        "key.RemoveFeature",
        "key.TrialActivation",
    ],
    "Auth": ["auth.KeyLock", "auth.GetChallenge", "auth.GetToken"],
    "Customer": [
        "customer.AddCustomer",
        "customer.EditCustomer",
        "customer.RemoveCustomer",
        "customer.GetCustomers",
        "customer.GetCustomerLicenses",
        "customer.GetCustomerLicensesBySecret",
    ],
    "Reseller": [
        "reseller.AddReseller",
        "reseller.EditReseller",
        "reseller.RemoveReseller",
        "reseller.GetResellers",
    ],
    "Product": ["product.GetProducts", "product.GetKeys"],
    "Data": [
        "data.AddDataObject",
        "data.ListDataObjects",
        "data.RemoveDataObject",
        "data.SetIntValue",
        "data.SetStringValue",
        "data.IncrementIntValue",
        "data.DecrementIntValue",
        "data.AddDataObjectToKey",
        "data.ListDataObjectsToKey",
        "data.RemoveDataObjectToKey",
        "data.SetIntValueToKey",
        "data.SetStringValueToKey",
        "data.IncrementIntValueToKey",
        "data.DecrementIntValueToKey",
        "data.UploadValuesToKey",
        "data.AddDataObjectToMachineCode",
        "data.ListDataObjectsToMachineCode",
        "data.RemoveDataObjectToMachineCode",
        "data.SetIntValueToMachineCode",
        "data.SetStringValueToMachineCode",
        "data.IncrementIntValueToMachineCode",
        "data.DecrementIntValueToMachineCode",
    ],
    "Message": ["message.CreateMessage", "message.GetMessages", "message.RemoveMessage"],
    "User authentication": [USER_AUTH_NORMAL, USER_AUTH_ADMIN],
    # Cryptolens' "user account authorization" (.NET UserLoginAuth.GetLicenseKeys): a customer
    # authorizes an application in the browser; its token then lists the customer's licenses.
    "User account": ["user.GetLicenseKeys"],
    "AI": [
        "ai.RegisterEvent",
        "ai.RegisterEvents",
        "ai.GetEvents",
        "ai.GetWebAPILog",
        "ai.GetObjectLog",
        "ai.GetKeyDevices",
        "ai.GetKeyUsageSummaries",
        "ai.GetDailyAggregates",
        "ai.GetDailyCountryAggregates",
        "ai.GetLicenseActivityBuckets",
    ],
    "Payments": ["paymentform.CreateSession", "subscription.RecordUsage"],
    # The SDK signer's call (sdk-signer/, apps.sdk_licensing): not a Cryptolens method.
    "SDK licensing": ["sdk.SignApplication"],
}

API_METHODS: list[str] = [m for group in API_METHOD_GROUPS.values() for m in group]
API_METHOD_SET = frozenset(API_METHODS)
