"""Domain errors. The CLI's single error boundary turns them into one-paragraph messages.

Exit codes: 2 = bad input (unknown name, invalid file, infeasible scenario), 1 = expectations failed.
"""

from __future__ import annotations

EXIT_BAD_INPUT = 2
EXIT_EXPECTATION_FAILED = 1


class PrfaasError(Exception):
    """An error the user can fix. `where` names the file/field, `fix` says what to do."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, *, where: str | None = None, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.fix = fix

    def render(self) -> str:
        parts = []
        if self.where:
            parts.append(f"{self.where}: ")
        parts.append(self.message)
        if self.fix:
            parts.append(f"\nFix: {self.fix}")
        return "".join(parts)


class UnknownNameError(PrfaasError):
    """A catalog name that does not exist."""


class InvalidFileError(PrfaasError):
    """A YAML/CSV/JSON file that cannot be read or does not validate."""


class InfeasibleError(PrfaasError):
    """A scenario that cannot be served (model does not fit, SLO unreachable, ...)."""
