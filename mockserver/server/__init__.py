"""``serve``: the mock Record360 as a long-running service (control API, state, dashboard).

Floor 2 (DESIGN.md, "Layers"): it delivers through :mod:`mockserver.delivery` and reads the
contract from :mod:`contracts`; nothing here imports the verifier, the CLI or the plugin.
"""

from __future__ import annotations

from mockserver.server.app import App, View, create_app

__all__ = ["App", "View", "create_app"]
