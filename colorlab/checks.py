"""Claims checked by code: a lesson states a finding, measures it, and calls ``check`` on it.

``check("the L2 U-Net averages the diamonds", chroma, below=0.6 * truth)`` prints one line,
``✓ the L2 U-Net averages the diamonds: 9.81 < 24.0``, or the same line starting with ✗. A failed
claim raises ``ClaimFailed`` in a normal run, so ``make course`` stops at a lesson whose text is
no longer true. In FAST mode (tiny runs that cannot show most effects) a failed claim is printed,
marked as not enforced, and the lesson goes on. Introduced in lesson 00.
"""

from __future__ import annotations

from . import settings


class ClaimFailed(AssertionError):
    """A lesson's claim that its own measurement does not support."""


def check(claim: str, value: float, *, below: float | None = None, above: float | None = None,
          digits: int = 2, enforce: bool | None = None) -> bool:
    """Print ``claim`` with the measured ``value`` and its bound(s), ✓ or ✗; return whether it holds.

    ``below`` and ``above`` are strict bounds (give one or both). A claim that fails raises
    ``ClaimFailed`` when ``enforce`` is true, which by default it is except in FAST mode.
    """
    if below is None and above is None:
        raise ValueError("check needs a bound: below=..., above=... or both")
    value = float(value)
    holds = (below is None or value < below) and (above is None or value > above)
    bounds = " and ".join(part for part in (
        f"> {above:.{digits}f}" if above is not None else "",
        f"< {below:.{digits}f}" if below is not None else "") if part)
    line = f"{'✓' if holds else '✗'} {claim}: {value:.{digits}f} (claim: {bounds})"
    enforce = not settings.FAST if enforce is None else enforce
    if not holds and not enforce:
        line += "  [FAST mode: too small a run to show it; not enforced]"
    print(line)
    if not holds and enforce:
        raise ClaimFailed(line)
    return holds
