"""A group's sync window and byte budgets, as the hub signs them for one box (``/v1/devices/<id>/policy``).

Staff set them per group of boxes on the hub's staff pages (e.g. 22:00-05:00,
200 MB per run, 2 GB a month); a box learns its group's policy in every sync,
signed and fresh by its nonce, and obeys it:

- outside the window, the small things still go (time, usage, the release's
  signed pointer, manifest and catalog file) but content files wait;
- the budgets are the smaller of the box's own settings and the group's
  (0 on either side: no limit from that side).

The window is in the province's local time: the hub's clock (never the box's)
plus the box's ``utc_offset_hours``. A hub without policies (404) means none.
"""

from __future__ import annotations

import logging

from sync.errors import BadSignature, HubError
from sync.protocol import MAX_SMALL_JSON, open_envelope

__all__ = ["Policy", "fetch_policy", "in_window", "tighter"]

log = logging.getLogger(__name__)

MINUTES_A_DAY = 24 * 60


class Policy(dict):
    """``window`` ([start, end] minutes after local midnight, or None), ``run_budget_mb``, ``month_budget_mb``."""


def fetch_policy(run, nonce: str) -> Policy:
    """This box's policy from the hub (signed, fresh); an empty policy when the hub has none."""
    device_id = run.device["device_id"]
    try:
        answer = run._call("GET", f"/v1/devices/{device_id}/policy?nonce={nonce}", None, None, MAX_SMALL_JSON)
    except HubError as error:
        if error.status == 404:
            return Policy(window=None, run_budget_mb=0, month_budget_mb=0)
        raise
    signed = open_envelope(answer.body, run.hub_key, "policy")
    if signed.get("nonce") != nonce or signed.get("device_id") != device_id:
        raise BadSignature("policy: the signed answer is not for our question (a replay?)")
    window = signed.get("window")
    if window is not None and not (isinstance(window, list) and len(window) == 2
                                   and all(isinstance(m, int) and 0 <= m < MINUTES_A_DAY for m in window)):
        raise BadSignature("policy: a malformed window")
    budgets = [signed.get("run_budget_mb", 0), signed.get("month_budget_mb", 0)]
    if not all(isinstance(b, int) and b >= 0 for b in budgets):
        raise BadSignature("policy: malformed budgets")
    return Policy(window=window, run_budget_mb=budgets[0], month_budget_mb=budgets[1])


def in_window(window: list[int] | None, hub_now: int, utc_offset_hours: float) -> bool:
    """Whether the hub's time ``hub_now``, in local time, falls in ``window`` (None: always)."""
    if window is None:
        return True
    start, end = window
    minute = int((hub_now + utc_offset_hours * 3600) // 60) % MINUTES_A_DAY
    if start == end:
        return True
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end  # across midnight, e.g. 22:00-05:00


def tighter(mine: int, group: int) -> int:
    """The smaller of two budgets where 0 means no limit."""
    if not mine or not group:
        return mine or group
    return min(mine, group)
