"""Rules a rollout plan must follow, shared by the admin forms and the services."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from apps.core.errors import InvalidInput


def check_stages(percentages: Sequence[int]) -> None:
    """Raise ``InvalidInput`` unless the stage percentages rise strictly and end at 100.

    Examples: ``[5, 10, 50, 100]`` is valid; ``[10, 5, 100]``, ``[5, 50]`` and ``[]`` are not.
    """
    if not percentages:
        raise InvalidInput("A plan needs at least one stage (a single 100 % stage publishes at once).")
    if any(not 1 <= p <= 100 for p in percentages):
        raise InvalidInput("Stage percentages must be between 1 and 100.")
    if any(b <= a for a, b in itertools.pairwise(percentages)):
        raise InvalidInput(f"Stage percentages must rise from stage to stage; got {list(percentages)}.")
    if percentages[-1] != 100:
        raise InvalidInput(f"The last stage must be 100 %; got {percentages[-1]} %.")
