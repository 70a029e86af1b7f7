"""The failover order: priority tiers first, then a weighted shuffle inside each tier."""
import random
from collections.abc import Sequence
from typing import Any


def failover_order(candidates: Sequence[Any], rng: random.Random) -> list[Any]:
    """Order rows having `forwarding_priority` and `weight`; weight 0 never appears.

    Inside a tier each row's chance to come first is its share of the tier's weight
    (Efraimidis–Spirakis: sort by u^(1/w), u uniform in (0, 1]).
    """
    keyed = []
    for row in candidates:
        if row.weight <= 0:
            continue
        u = 1.0 - rng.random()  # (0, 1], so the key is never 0
        keyed.append((row.forwarding_priority, -(u ** (1.0 / row.weight)), row))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [row for _, _, row in keyed]
