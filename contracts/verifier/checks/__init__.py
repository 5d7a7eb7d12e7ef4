"""The verifier's checks: each a small function, registered once, run in registration order.

Stable names (``--checks``, the JSON report, the pytest suite): ``tls``, ``auth-required``,
``auth-rejects-invalid``, ``accepts-valid``, ``tolerates-evolution``, ``ignores-unknown-events``,
``idempotency``, ``rate-limit``, ``latency``. ``rate-limit`` runs late because its burst may
drain the consumer's budget; ``latency`` runs last because it judges every answer of the run.
"""

from __future__ import annotations

# Import order is run order, so the sorter must leave it alone.
# isort: off
from contracts.verifier.checks import tls as _tls  # noqa: F401
from contracts.verifier.checks import auth_required as _auth_required  # noqa: F401
from contracts.verifier.checks import auth_rejects_invalid as _auth_rejects_invalid  # noqa: F401
from contracts.verifier.checks import accepts_valid as _accepts_valid  # noqa: F401
from contracts.verifier.checks import tolerates_evolution as _tolerates_evolution  # noqa: F401
from contracts.verifier.checks import ignores_unknown_events as _ignores_unknown_events  # noqa: F401
from contracts.verifier.checks import idempotency as _idempotency  # noqa: F401
from contracts.verifier.checks import rate_limit as _rate_limit  # noqa: F401
from contracts.verifier.checks import latency as _latency  # noqa: F401

# isort: on

__all__: list[str] = []
