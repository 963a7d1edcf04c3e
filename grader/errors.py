"""Errors the grader raises to its caller."""


class InternalError(Exception):
    """A platform fault (sandbox could not start, scratch space unwritable, bad job...).

    Never the participant's fault: the caller retries and never charges the team.
    """
