"""Web API log state codes, Cryptolens' scheme: two digits for the method family, then
1 = success / 2 = failure, then a detail digit."""

VALIDATION_OK = 1010  # GetKey
VALIDATION_FAILED = 1020

ACTIVATION_EXISTING = 2010  # node-locked device already activated
ACTIVATION_NEW = 2011  # node-locked device added
ACTIVATION_ALLOWED_MACHINE = 2012  # added beyond the limit: listed in AllowedMachines
ACTIVATION_NOT_NODE_LOCKED = 2013  # MaxNoOfMachines = 0: nothing recorded
ACTIVATION_FLOATING = 2014
ACTIVATION_OVERDRAFT = 2015
ACTIVATION_FAILED = 2020  # unknown key, bad input
ACTIVATION_LIMIT = 2021  # node-locked limit reached / automatic activation off
ACTIVATION_BLOCKED = 2023
ACTIVATION_FLOATING_LIMIT = 2024

KEY_CREATED = 3010
TRIAL_CREATED = 3011
KEY_CREATION_FAILED = 3020

DEACTIVATION_OK = 6010
FLOATING_RELEASED = 6011
DEACTIVATION_FAILED = 6020

KEY_CHANGED = 7010  # block, extend, features, notes, customer, machine limit
KEY_CHANGE_FAILED = 7020

DATA_OBJECT_CHANGED = 8010
DATA_OBJECT_FAILED = 8020

OTHER_OK = 5010  # calls not tied to a license change (listings, events)
OTHER_FAILED = 5020

DESCRIPTIONS = {
    VALIDATION_OK: "Key read (GetKey)",
    VALIDATION_FAILED: "Key read failed",
    ACTIVATION_EXISTING: "Activation: device already activated",
    ACTIVATION_NEW: "Activation: new device",
    ACTIVATION_ALLOWED_MACHINE: "Activation: new device from the allowed machines",
    ACTIVATION_NOT_NODE_LOCKED: "Activation: key not node-locked",
    ACTIVATION_FLOATING: "Floating activation",
    ACTIVATION_OVERDRAFT: "Floating activation in overdraft",
    ACTIVATION_FAILED: "Activation failed",
    ACTIVATION_LIMIT: "Activation refused: machine limit reached",
    ACTIVATION_BLOCKED: "Activation refused: key blocked",
    ACTIVATION_FLOATING_LIMIT: "Floating activation refused: limit reached",
    KEY_CREATED: "Key created",
    TRIAL_CREATED: "Trial key created",
    KEY_CREATION_FAILED: "Key creation failed",
    DEACTIVATION_OK: "Device deactivated",
    FLOATING_RELEASED: "Floating seat released",
    DEACTIVATION_FAILED: "Deactivation failed",
    KEY_CHANGED: "Key changed",
    KEY_CHANGE_FAILED: "Key change failed",
    DATA_OBJECT_CHANGED: "Data object changed",
    DATA_OBJECT_FAILED: "Data object change failed",
    OTHER_OK: "Other call",
    OTHER_FAILED: "Other call failed",
}


def succeeded(state: int) -> bool:
    return (state % 100) // 10 == 1
