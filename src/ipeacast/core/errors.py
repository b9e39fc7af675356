"""One small error hierarchy; entry points turn these into exit codes and one-line messages."""


class IpeacastError(Exception):
    """Base of every error the library raises on purpose."""


class ConfigError(IpeacastError):
    """A setting, argument or hyperparameter is missing or invalid."""


class ExtractError(IpeacastError):
    """The source could not be fetched (network, HTTP status, unknown series, empty series)."""


class SourceUnreachable(ExtractError):
    """The source did not answer usefully after every retry (no connection, timeouts, 5xx/429):
    trying again later, or working offline from a file, is all a user can do."""


class SourceFormatError(IpeacastError):
    """A source file or payload is not in a format we can read, or its content is invalid."""


class StorageError(IpeacastError):
    """Reading or writing the data lake failed, or would overwrite something immutable."""


class ValidationError(IpeacastError):
    """A dataset failed a publication check; nothing was published."""

    def __init__(self, rule: str, detail: str):
        super().__init__(f"validation rule '{rule}' failed: {detail}")
        self.rule = rule
        self.detail = detail


class TrainingError(IpeacastError):
    """Training or forecasting could not complete."""
