"""The headers every Record360-like POST carries, and the one way to merge more into them.

Written once and used by the sender (both engines), ``load`` and the Locust user, so all of them
put the same bytes on the wire: ``application/json``, our ``User-Agent``, and ``identity``
encoding (only an excerpt of each answer is kept; a compressed one could expand without bound).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping

__all__ = ["USER_AGENT", "default_headers", "merge_headers"]


def _user_agent() -> str:
    try:
        version = importlib.metadata.version("r360-webhooks")
    except importlib.metadata.PackageNotFoundError:
        version = "0"
    return f"r360-webhooks/{version}"


USER_AGENT = _user_agent()


def default_headers() -> dict[str, str]:
    """A fresh copy of the headers every delivery starts from."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Accept-Encoding": "identity",
    }


def merge_headers(headers: dict[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """``headers.update(extra)`` with case-insensitive names, so an override replaces; returns
    ``headers``. (HTTP field names are case-insensitive, RFC 9110 §5.1: ``content-type`` from a
    user must replace our ``Content-Type``, not travel beside it.)"""
    for name, value in extra.items():
        lowered = name.lower()
        for existing in [k for k in headers if k.lower() == lowered and k != name]:
            del headers[existing]
        headers[name] = value
    return headers
