"""Sandboxed grading of gradient-descent submissions. Plain Python: never imports Django.

Public API:
- ``grade(job, *, progress=None) -> GradingResult`` (grader.grading)
- ``selftest() -> (SandboxLevel, detail)`` and ``prewarm()``
- ``InternalError``: platform faults (retry, never charge the team)
- ``grader.precheck.precheck``, ``grader.scoring``, ``grader.diagnostics``
"""

from grader.errors import InternalError
from grader.grading import grade, prewarm, selftest

__all__ = ["InternalError", "grade", "prewarm", "selftest"]
