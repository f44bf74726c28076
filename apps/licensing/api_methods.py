"""The Web API methods an access token can be allowed to call, one permission each.

Names are the wire's `<controller>.<Method>` spellings, grouped for the token form."""

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
        "key.AddFeature",
        "key.RemoveFeature",
        "key.TrialActivation",
    ],
    "Customer": [
        "customer.AddCustomer",
        "customer.GetCustomerLicenses",
        "customer.GetCustomerLicensesBySecret",
    ],
    "Product": ["product.GetProducts", "product.GetKeys"],
    "Data": [
        "data.AddDataObjectToKey",
        "data.ListDataObjectsToKey",
        "data.RemoveDataObjectToKey",
        "data.IncrementIntValueToKey",
        "data.DecrementIntValueToKey",
    ],
    "AI": ["ai.RegisterEvent", "ai.GetEvents", "ai.GetWebAPILog"],
}

API_METHODS: list[str] = [m for group in API_METHOD_GROUPS.values() for m in group]
API_METHOD_SET = frozenset(API_METHODS)
