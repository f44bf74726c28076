"""SDK licensing: developer machines sign applications built with a vendor's SDK, and the
portal issues certificates the SDK verifies offline (sdk-signer/, docs/sdk-licensing.md)."""
