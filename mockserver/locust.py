"""Record360 webhooks from Locust, for load from many machines: ``Record360User``.

``r360-webhooks load`` drives one consumer from one process; a team that needs more senders
runs this locustfile on a Locust master and as many workers as it likes::

    FILE=$(python -c "import importlib.util as u; print(u.find_spec('mockserver.locust').origin)")
    locust -f "$FILE" --master --host https://consumer.example/webhooks      # one machine
    locust -f "$FILE" --worker --master-host MASTER                           # each of many

``--host`` is the consumer's whole webhook URL (path included). Every worker reads the same
environment variables (the master reads none, it sends nothing):

``R360_AUTH``
    an ``--auth`` SPEC: ``basic:USER:PASS``, ``bearer:TOKEN``, ``api-key:HEADER:VALUE``,
    ``jwt:ALG:SECRET`` or ``none``; any secret as ``env:NAME`` or ``@file``. A JWT is minted
    fresh for every request, as the sender does.
``R360_HEADERS``
    extra static headers, one ``NAME:VALUE`` per line (a value may be ``env:NAME`` or ``@file``).
``R360_EVOLVED_SHARE``
    share of evolved bodies, 0 to 1 (default 0.3).
``R360_SEED``
    seed of the bodies. Worker ``i`` uses ``R360_SEED + i``, so with the same seed everywhere
    no two workers send the same ID (up to 4,500 workers). Unset: a random seed per worker,
    logged, and IDs may then repeat across workers (the consumer answers those as duplicates).
``R360_CA_BUNDLE`` / ``R360_INSECURE=1``
    trust this CA bundle / do not verify certificates (default: verify against the system's).
``R360_USER_RATE``
    requests per second per user (Locust's ``constant_throughput``); default: back to back.

The acceptance rule is that of ``verify`` and ``load``. A 2xx is a success, under the name
``webhook``. A 429 is *throttling*, which the contract allows: it is a success too, but under
the name ``webhook [429 throttled]``, so it has its own row (count, rate, latency) in Locust's
statistics and CSV, and the failure count stays a count of real failures. Anything else is a
failure with a message: another status (a 3xx is not followed), a refused connection, a timeout.
Like the mock sender, a user sends ``application/json`` bodies from
:class:`~contracts.bulk.BodyMix` (seeded valid and evolved bodies, unique IDs), keeps no
cookies, never retries, and waits at most 5 s to connect and 10 s for an answer.

Importing Locust monkey-patches the whole process with gevent. So nothing in ``contracts`` or
``mockserver`` imports this module (``tests/test_locust.py`` imports every other module in a
fresh interpreter and checks that neither gevent nor locust got loaded), and only ``locust -f``
should load it.
"""

from __future__ import annotations

import logging
import math
import os
import random
import ssl
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from locust import FastHttpUser, constant_throughput, events, task
from locust.env import Environment
from locust.runners import MasterRunner

from contracts.bulk import DEFAULT_EVOLVED_SHARE, BodyMix
from mockserver.auth import AuthScheme
from mockserver.delivery.headers import RequestHeaders
from mockserver.errors import UsageError
from mockserver.settings import LOCUST, DeliverySettings, delivery_settings

__all__ = ["NAME", "THROTTLED_NAME", "LocustSettings", "Record360User", "settings_from_env"]

#: Statistics row of accepted requests, and of throttled ones (429, counted as successes).
NAME = "webhook"
THROTTLED_NAME = "webhook [429 throttled]"
_TRUE = ("1", "true", "yes", "on")

logger = logging.getLogger("mockserver.locust")


@dataclass(frozen=True)
class LocustSettings:
    """What the environment variables configure (see the module's documentation)."""

    #: Credentials, headers, TLS and the redactor, from the one settings factory.
    delivery: DeliverySettings
    evolved_share: float
    seed: int | None
    user_rate: float | None

    @property
    def auth(self) -> AuthScheme | None:
        return self.delivery.auth

    @property
    def headers(self) -> Mapping[str, str]:
        return self.delivery.headers

    @property
    def ca_bundle(self) -> str | None:
        return self.delivery.ca_bundle

    @property
    def insecure(self) -> bool:
        return self.delivery.insecure


def _float(environ: Mapping[str, str], name: str) -> float | None:
    text = environ.get(name, "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"{name}={text!r} is not a number") from None


def settings_from_env(environ: Mapping[str, str] | None = None) -> LocustSettings:
    """Read the ``R360_*`` variables through the settings factory; a bad one raises a one-line
    :class:`UsageError` naming the variable."""
    env = os.environ if environ is None else environ
    spec = env.get("R360_AUTH", "").strip()
    ca_bundle = env.get("R360_CA_BUNDLE", "").strip() or None
    delivery = delivery_settings(
        None,
        auth=spec or None,
        jwt_claims=[line.strip() for line in env.get("R360_JWT_CLAIMS", "").splitlines()
                    if line.strip()],
        headers=[line.strip() for line in env.get("R360_HEADERS", "").splitlines() if line.strip()],
        ca_bundle=ca_bundle,
        insecure=env.get("R360_INSECURE", "").strip().lower() in _TRUE,
        environ=env,
        names=LOCUST,
    )  # fmt: skip
    share = _float(env, "R360_EVOLVED_SHARE")
    if share is None:
        share = DEFAULT_EVOLVED_SHARE
    elif not 0.0 <= share <= 1.0:
        raise UsageError(f"R360_EVOLVED_SHARE={share:g} must be between 0 and 1")
    seed_text = env.get("R360_SEED", "").strip()
    try:
        seed = int(seed_text) if seed_text else None
    except ValueError:
        raise UsageError(f"R360_SEED={seed_text!r} is not an integer") from None
    rate = _float(env, "R360_USER_RATE")
    if rate is not None and not (math.isfinite(rate) and rate > 0):
        raise UsageError(f"R360_USER_RATE={rate:g} must be more than 0 requests per second")
    return LocustSettings(delivery, share, seed, rate)


class _State:
    """This process's settings and bodies (users are greenlets of one thread: no locking)."""

    settings: LocustSettings | None = None
    bodies: BodyMix | None = None


def _settings() -> LocustSettings:
    if _State.settings is None:  # run without locust's init event (run_single_user, a test)
        _State.settings = settings_from_env()
    return _State.settings


@events.init.add_listener  # type: ignore[untyped-decorator]  # locust's EventHook is untyped
def _configure(environment: Environment, **_kwargs: Any) -> None:
    """Read the settings once per process, before any user starts; a bad one ends it (exit 2)."""
    if isinstance(environment.runner, MasterRunner):
        return  # the master sends nothing: the secrets need to be on the workers only
    try:
        settings = _State.settings = settings_from_env()
    except UsageError as exc:
        print(f"r360-webhooks locust: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    if settings.delivery.insecure_warning:
        logger.warning("R360_INSECURE: %s", settings.delivery.insecure_warning)
    if settings.user_rate is not None:
        Record360User.wait_time = constant_throughput(settings.user_rate)


def _bodies(environment: Environment) -> BodyMix:
    if _State.bodies is None:
        settings = _settings()
        base = settings.seed
        if base is None:
            base = random.SystemRandom().randrange(2**32)
        index = int(getattr(environment.runner, "worker_index", 0) or 0)
        _State.bodies = BodyMix(seed=base + index, evolved_share=settings.evolved_share)
        logger.info("r360 bodies: seed %d (R360_SEED %s + worker %d)", base + index, base, index)
    return _State.bodies


def _ssl_factory(ca_bundle: str) -> Callable[[], ssl.SSLContext]:
    # Called inside the worker after locust's monkey-patching, so this is gevent's context.
    return lambda: ssl.create_default_context(cafile=ca_bundle)


class Record360User(FastHttpUser):
    """POSTs Record360 webhooks to ``--host`` with the configured auth; see the module doc."""

    # The mock sender's behaviour: its timeouts, no retries, no redirects followed.
    connection_timeout = 5.0
    network_timeout = 10.0
    max_retries = 0
    max_redirects = 0
    insecure = False

    def __init__(self, environment: Environment) -> None:
        settings = _settings()
        delivery = settings.delivery
        if self.host:  # user info in --host becomes credentials the redactor knows
            delivery = delivery.for_url(self.host)
            self.host = delivery.url
        self.insecure = settings.insecure
        if settings.ca_bundle is not None:
            self.ssl_context_factory = _ssl_factory(settings.ca_bundle)
        super().__init__(environment)
        self.client.client.cookiejar = None  # stateless, as Record360's sender is
        # The sender's headers, credentials minted per request (a JWT expires) and redacted.
        self._headers = RequestHeaders(
            delivery.headers, auth=delivery.auth, redactor=delivery.redactor
        )

    @task
    def post_webhook(self) -> None:
        body = next(_bodies(self.environment))
        with self.client.post(
            "",
            data=body.body,  # type: ignore[arg-type]  # bytes are sent as they are; the hint is narrow
            headers=self._headers(),
            name=NAME,
            catch_response=True,
            allow_redirects=False,
        ) as response:
            status = response.status_code
            if status is not None and 200 <= status < 300:
                response.success()
            elif status == 429:
                response.request_meta["name"] = THROTTLED_NAME
                response.success()
            elif status:
                response.failure(f"status {status}: not 2xx (accepted) or 429 (throttled)")
            else:
                error = getattr(response, "error", None)
                response.failure(f"no answer: {type(error).__name__}: {error}")
