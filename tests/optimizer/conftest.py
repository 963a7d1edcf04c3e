"""The grading pipeline's fixtures: a real worker against the test's own broker."""

from tests.submissions.conftest import start_worker  # noqa: F401 - a fixture, used by name
