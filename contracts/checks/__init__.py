"""The verifier's checks: each a small function, registered once, run in registration order.

Stable names (``--checks``, the JSON report, the pytest suite): ``tls``, ``auth-required``,
``auth-rejects-invalid``, ``accepts-valid``, ``tolerates-evolution``, ``ignores-unknown-events``,
``idempotency``, ``rate-limit``, ``latency``. ``rate-limit`` runs late because its burst may
drain the consumer's budget; ``latency`` runs last because it judges every answer of the run.
"""

from __future__ import annotations

# Import order is run order, so the sorter must leave it alone.
# isort: off
from contracts.checks import tls as _tls  # noqa: F401
from contracts.checks import auth_required as _auth_required  # noqa: F401
from contracts.checks import auth_rejects_invalid as _auth_rejects_invalid  # noqa: F401
from contracts.checks import accepts_valid as _accepts_valid  # noqa: F401
from contracts.checks import tolerates_evolution as _tolerates_evolution  # noqa: F401
from contracts.checks import ignores_unknown_events as _ignores_unknown_events  # noqa: F401
from contracts.checks import idempotency as _idempotency  # noqa: F401
from contracts.checks import rate_limit as _rate_limit  # noqa: F401
from contracts.checks import latency as _latency  # noqa: F401

# isort: on
from contracts.checks._context import CheckContext, VerifyOptions
from contracts.checks._finding import STATUSES, Finding, Status
from contracts.checks._registry import REGISTRY, check

__all__ = ["REGISTRY", "STATUSES", "CheckContext", "Finding", "Status", "VerifyOptions", "check"]
