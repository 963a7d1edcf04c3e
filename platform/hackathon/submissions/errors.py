"""Why a submission was refused: one exception class per reason, each with a specific
message and the HTTP status the web page and the API answer with."""

from __future__ import annotations


class SubmissionRejected(Exception):  # noqa: N818 - the interface agreed with the API
    code = "rejected"
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def reason(self) -> str:
        """Why, as the organizers' room view counts upload refusals (models.RefusalReason)."""
        return self.code

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


class PrecheckFailed(SubmissionRejected):
    code = "precheck_failed"
    http_status = 400

    def __init__(self, message: str, *, verdict: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.verdict = verdict
        self.detail_reason = reason  # the pre-check's reason (grader.precheck.REASONS)

    @property
    def reason(self) -> str:
        return self.detail_reason or "syntax_error"

    def as_dict(self) -> dict:
        return {**super().as_dict(), "verdict": self.verdict}


class NotInTeam(SubmissionRejected):
    code = "not_in_team"
    http_status = 403


class ChallengeClosed(SubmissionRejected):
    code = "challenge_closed"
    http_status = 409


class SubmissionTooLarge(SubmissionRejected):
    code = "too_large"
    http_status = 413


class QuotaExceeded(SubmissionRejected):
    """`limit` is "daily", "total" or "in_flight"; `retry_after` is the number of seconds
    until the next slot opens (None for the total quota: no slot ever opens again)."""

    code = "quota_exceeded"
    http_status = 429

    def __init__(self, message: str, *, limit: str, retry_after: int | None) -> None:
        super().__init__(message)
        self.limit = limit
        self.retry_after = retry_after

    def as_dict(self) -> dict:
        return {**super().as_dict(), "limit": self.limit, "retry_after": self.retry_after}

    @property
    def reason(self) -> str:
        return f"quota_{self.limit}"


class ActionRefused(SubmissionRejected):
    """A team or organizer action that is not allowed now (final selection after the end,
    rejudging a submission still running, someone else's submission...)."""

    code = "refused"

    def __init__(self, message: str, *, http_status: int = 400) -> None:
        super().__init__(message)
        self.http_status = http_status
