"""The catalogue: every bound by its stable id."""

from __future__ import annotations

from theory import concentration, distributions, pac, paper
from theory.bound import Bound
from theory.errors import InputError

_BOUNDS: dict[str, Bound] = {b.id: b for module in (paper, concentration, distributions, pac) for b in module.BOUNDS}


def catalogue() -> list[Bound]:
    """Every bound, the paper's four first, then the standard ones."""
    return list(_BOUNDS.values())


def ids() -> list[str]:
    return list(_BOUNDS)


def get(bound_id: str) -> Bound:
    """The catalogue bound with this id.

    Args:
        bound_id: e.g. 'paper.text-generation', 'vc.hanneke' (`iclverify bounds` lists them).

    Returns:
        The bound.

    Raises:
        InputError: an unknown id (the message lists the known ones).
    """
    try:
        return _BOUNDS[bound_id]
    except (KeyError, TypeError):
        raise InputError(f"unknown bound id {bound_id!r}; known ids: {', '.join(_BOUNDS)}") from None
