"""numpy.linalg's LAPACK routines module, absent under a gradient-descent-only rule: every
routine it held (dgelsd, dgeqrf, ...) solves or factorises, so each one refuses."""

from __future__ import annotations


def __getattr__(name: str) -> object:
    if name.startswith("__"):
        raise AttributeError(name)
    # The stub next to this file (numpy's type stubs describe the C module it replaces).
    from numpy.linalg._umath_linalg import refuse  # type: ignore[attr-defined]

    refuse(f"numpy.linalg.lapack_lite.{name}")
    raise AttributeError(name)
