"""Which variant of a step's A/B test a lead gets: stable, by weight, and the winner once
one has been promoted.

The choice is a hash of the lead's public id, the campaign and the step, laid over the
weights: no state, so the dispatcher (which records it on the message) and any retry
or recount agree, and a lead never sees two versions of one step. The hash takes in
the campaign and step, so one lead's variants in two tests are independent.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from itertools import accumulate

from nurture.campaigns.spec import StepSpec

# 2**64 buckets: a weight's share is exact to ~1e-19, far below any test's resolution.
_BUCKETS = 2**64


def bucket(lead_public_id: str, campaign_slug: str, step_key: str) -> float:
    """Where the lead falls in [0, 1) for this step's test: the same on every call."""
    seed = f"{campaign_slug}\x1f{step_key}\x1f{lead_public_id}".encode()
    digest = hashlib.sha256(seed).digest()
    return int.from_bytes(digest[:8], "big") / _BUCKETS


def assign_variant(step: StepSpec, lead_public_id: str, campaign_slug: str) -> str | None:
    """The variant the lead gets by weight (None when the step has no variants)."""
    if not step.variants:
        return None
    bounds = list(accumulate(variant.weight for variant in step.variants))
    point = bucket(lead_public_id, campaign_slug, step.key) * bounds[-1]
    return step.variants[bisect_right(bounds, point)].key


def variant_for(
    step: StepSpec, lead_public_id: str, campaign_slug: str, winner: str | None = None
) -> str | None:
    """The variant a new message of this step is written from: the promoted winner while
    the step still has it, else the lead's own by weight."""
    if winner is not None and step.variant(winner) is not None:
        return winner
    return assign_variant(step, lead_public_id, campaign_slug)
