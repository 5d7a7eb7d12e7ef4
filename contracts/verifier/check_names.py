"""The built-in checks' names, in run order: the one list the checks package imports by.

Why a module of its own: ``r360-webhooks verify --help`` names the checks, and must answer as
fast as a bare interpreter; importing the checks would load httpx, Hypothesis and Rich. The
checks package imports ``contracts.verifier.checks.<name with _>`` for each name here, in this
order, and fails at import if the modules registered any other names (so the list cannot drift).
``rate-limit`` runs late because its burst may drain the consumer's budget; ``latency`` runs last
because it judges every answer of the run.
"""

from __future__ import annotations

__all__ = ["CHECK_NAMES", "module_of"]

CHECK_NAMES = (
    "tls",
    "auth-required",
    "auth-rejects-invalid",
    "accepts-valid",
    "tolerates-evolution",
    "ignores-unknown-events",
    "idempotency",
    "rate-limit",
    "latency",
)


def module_of(name: str) -> str:
    """The module (under ``contracts.verifier.checks``) that registers check ``name``."""
    return name.replace("-", "_")
