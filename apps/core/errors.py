"""Domain errors. Their messages are stable: the API and the portals show them as they are."""


class DomainError(Exception):
    """A business rule refused the operation; `message` is safe to show to the user."""

    def __init__(self, message: str, *, field: str | None = None, state: int | None = None
                 ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        # Web API log state code for this refusal (e.g. 2024: floating limit reached).
        self.state = state


class NotFound(DomainError):
    pass


class LimitReached(DomainError):
    pass
