"""Why a mail could not be sent, as the worker needs to know it: never (mark it failed) or later (retry)."""

from __future__ import annotations


class PermanentFailure(Exception):
    """The message can never be sent (bad address, missing data): mark it failed, do not retry."""


class TransientFailure(Exception):
    """Worth another try later (server down, 4xx answer)."""
