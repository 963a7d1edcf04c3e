"""Errors the grader raises to its caller."""


class InternalError(Exception):
    """A platform fault (sandbox could not start, scratch space unwritable, bad job...).

    Never the participant's fault: the caller retries and never charges the team.
    """


class ConfigError(InternalError):
    """The grader's configuration cannot work (a GRADER_* variable or what it names).

    The message is one line that names the variable and the fix.
    """
