"""Cryptolens' exact error strings. Clients compare some of them character for character."""

UNABLE_TO_AUTHENTICATE = "Unable to authenticate."
ACCESS_DENIED = "Access denied."
INCORRECT_INPUT = "The input parameters were incorrect."
PRODUCT_NOT_FOUND = "Could not find the product."
KEY_NOT_FOUND = "Could not find the key."
KEY_LOCKED = "Not enough permission and/or key not found."
CUSTOMER_NOT_FOUND = "Could not find the customer."
CUSTOMER_DETACHED = "Customer not found, so current key no longer references any customer."
DATA_OBJECT_NOT_FOUND = "Could not find the data object."
UNKNOWN_METHOD = "Unknown method."
TOO_MANY_REQUESTS = "Too many requests. Please try again later."
SERVER_ERROR = "Something went wrong. Please contact support and we will try to fix it."
# The database could not be reached: the same words as apps/core/middleware.py's answer.
SERVICE_UNAVAILABLE = "The service is temporarily unavailable. Please try again in a moment."


class ApiError(Exception):
    """Ends a call with {"result": 1, "message": message}; `state` goes to the Web API log."""

    def __init__(self, message: str, state: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.state = state
