"""Sandboxed grading of gradient-descent submissions. Plain Python: never imports Django.

Public API:
- ``grade(job, *, progress=None) -> GradingResult`` (grader.grading)
- ``selftest() -> (SandboxLevel, detail)`` and ``prewarm()``
- ``InternalError``: platform faults (retry, never charge the team); ``ConfigError``, one of
  them: a GRADER_* setting that cannot work, in one line that names it and the fix
- ``grader.precheck.precheck``, ``grader.scoring``, ``grader.diagnostics``
"""

from grader.errors import ConfigError, InternalError
from grader.grading import grade, prewarm, selftest

__all__ = ["ConfigError", "InternalError", "grade", "prewarm", "selftest"]
