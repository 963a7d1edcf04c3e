"""The grading pipeline's fixtures (a real worker, the broker, a tiny challenge)."""

from tests.submissions.conftest import (  # noqa: F401 - fixtures, used by name
    make_challenge,
    start_worker,
)
