"""FastAPI consumers for the zoo, written the way FastAPI teams write webhook endpoints.

Pydantic models of the v1 schemas, ``Depends`` for authentication, slowapi for the rate limit,
an in-memory ledger at ``GET /ledger`` (reference format). One compliant app, and one app per
rule that breaks exactly that rule with a mistake FastAPI teams really make: closed models
(``extra="forbid"``), ids typed ``int``, an enum of the module codes seen so far, a discriminated
union over the two known events, an e-mail pattern on a field that is only a string, a JWT check
that lets ``alg: none`` through, and a connection pool that answers 503 when it is busy.

Every factory takes the :class:`~mockserver.auth.AuthScheme` the sender uses (the zoo's
stand-in for the settings a team reads from its environment). The apps use nothing of the
verifier but the list of module codes its generator draws from (see ``WorkflowModule``).
"""

# No ``from __future__ import annotations``: FastAPI resolves endpoint annotations from module
# globals, and the endpoints below use models defined inside their factory.

import asyncio
import hmac
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from types import SimpleNamespace
from typing import Annotated, Any, Literal

import jwt
from fastapi import Body, Depends, FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.security import (
    APIKeyHeader,
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from slowapi import Limiter, _rate_limit_exceeded_handler
from slowapi.errors import RateLimitExceeded
from slowapi.util import get_remote_address

from contracts import _realism
from mockserver.auth import ApiKeyAuth, AuthScheme, BasicAuth, JwtAuth, NoAuth
from tests.consumers._zoo import Case

__all__ = ["CASES"]

#: The per-client limit every app declares; the burst of the rate-limit check goes past it.
RATE_LIMIT = "25/second"
#: Clock skew tolerated on ``exp``/``nbf`` (RFC 7519 §4.1.4).
JWT_LEEWAY_S = 30


# -- the v1 contract as pydantic models -------------------------------------------------------

Id = str  # opaque: numeric strings today, up to 255 characters of anything tomorrow
GeoCoord = tuple[float, float]  # [longitude, latitude]
Answer = Any  # a checklist answer: bool, str, number, list or null


class Tolerant(BaseModel):
    """What the contract asks for: ignore what you do not know."""

    model_config = ConfigDict(extra="ignore")


class Closed(BaseModel):
    """The "be strict about input" base class: any unknown field is a 422."""

    model_config = ConfigDict(extra="forbid")


def contract_models(base: type[BaseModel]) -> SimpleNamespace:
    """The models of schemas/v1, on the team's base class (the one thing teams vary here).

    Required fields have no default, optional ones default to None or empty, nullable ones
    admit None: exactly what the schema says, so every valid body validates.
    """

    class Photo(base):
        id: Id
        created_at: datetime
        url: str
        instruction_id: str | None = None
        byte_size: float | None = None
        geo_coord: GeoCoord | None = None
        notation: str | None = None

    class Damage(base):
        id: Id | None = None
        created_at: datetime | None = None
        photos: list[Photo] = Field(default_factory=list)

    class Video(base):
        id: Id
        created_at: datetime
        url: str
        byte_size: float | None = None
        thumbnail_url: str | None = None

    class Signature(base):
        id: Id
        created_at: datetime
        url: str
        byte_size: float | None = None

    class IdentDoc(base):
        id: Id | None = None
        created_at: datetime | None = None
        front_image: str | None = None
        back_image: str | None = None
        identity: dict[str, Any] = Field(default_factory=dict)

    class FormTemplate(base):
        id: Id

    class Form(base):
        id: Id
        transaction_id: Id
        form_template: FormTemplate
        created_at: datetime
        values: dict[str, Answer]

    class File(base):
        id: Id | None = None
        type: str | None = None
        size: float | None = None
        url: str | None = None
        created_at: datetime | None = None

    class Asset(base):
        id: Id
        external_id: str
        make: str | None = None
        model: str | None = None
        year: float | None = None
        check_in: bool | None = None
        geo_coord: GeoCoord | None = None
        damages: list[Damage] = Field(default_factory=list)
        extended: dict[str, Any] = Field(default_factory=dict)

    class User(base):
        id: Id
        username: str
        first_name: str
        last_name: str
        phone_number: str | None = None
        role: str | None = None
        external_id: str | None = None
        email: str | None = None
        created_at: datetime | None = None
        updated_at: datetime | None = None

    class Location(base):
        id: Id
        name: str
        address1: str | None = None
        address2: str | None = None
        city: str | None = None
        state: str | None = None
        zipcode: str | None = None
        timezone: str | None = None
        created_at: datetime | None = None
        updated_at: datetime | None = None
        workflow: dict[str, Any] = Field(default_factory=dict)

    class Transaction(base):
        id: Id
        check_in: bool | None  # required, and null for an add-media inspection
        draft: bool
        damage: bool
        geo_coord: GeoCoord
        email_sent_to: list[str]
        created_at: datetime
        workflow_modules: list[str]
        archive_status: str
        workflow_id: Id
        group_id: Id
        view_url: str
        notations: dict[str, dict[str, Answer]]
        asset: Asset
        user: User
        location: Location
        photos: list[Photo]
        videos: list[Video]
        signatures: list[Signature]
        ident_docs: list[IdentDoc]
        forms: list[Form]
        files: list[File]
        department_id: Id | None = None
        workflow_name: str | None = None
        sms_summary_numbers: list[str] = Field(default_factory=list)
        damage_cost: float | None = None
        extended: dict[str, Any] = Field(default_factory=dict)
        task_id: Id | None = None
        work_order_id: Id | None = None

    class TaskPerson(base):
        id: Id
        email: str
        name: str

    class Activity(base):
        event: str
        user: TaskPerson
        created_at: datetime

    class Task(base):
        id: Id
        name: str
        status: str
        due_by: datetime
        created_at: datetime
        updated_at: datetime
        high_priority: bool
        asset: Asset
        location: Location
        assignee: TaskPerson
        requester: TaskPerson
        activities: list[Activity]
        completed_at: datetime | None = None
        reference_number: str | None = None
        transaction_id: Id | None = None

    return SimpleNamespace(
        Asset=Asset, User=User, Location=Location, Transaction=Transaction, Task=Task
    )


TOLERANT = contract_models(Tolerant)


def envelopes(
    transaction_model: type[BaseModel], task_model: type[BaseModel], base: type[BaseModel]
) -> dict[tuple[str, str], type[BaseModel]]:
    """The two known bodies, keyed by (raw ``event``, resource key) for dispatch."""

    class TransactionCreated(base):
        event: Literal["create"]
        transaction: transaction_model

    class TaskCompleted(base):
        event: Literal["completed"]
        task: task_model

    return {("create", "transaction"): TransactionCreated, ("completed", "task"): TaskCompleted}


#: (event, resource key) -> the model of that body; anything else is an event we do not handle.
KNOWN = envelopes(TOLERANT.Transaction, TOLERANT.Task, Tolerant)
#: How the ledger names what it processed (the contract's event names).
EVENT_NAMES = {"create": "transaction.create", "completed": "task.completed"}


class Envelope(BaseModel):
    """The permissive first parse: only ``event`` is read; the resource stays raw until known."""

    model_config = ConfigDict(extra="allow")
    event: str


# -- what every team's app shares: auth, ledger, rate limit -----------------------------------


def _unauthorized(scheme: str) -> HTTPException:
    return HTTPException(401, "unauthorized", headers={"WWW-Authenticate": scheme})


def require_credentials(scheme: AuthScheme | None) -> Callable[..., Any]:
    """The ``Depends`` that authenticates a delivery with the configured credentials."""
    if scheme is None or isinstance(scheme, NoAuth):
        return lambda: None
    if isinstance(scheme, JwtAuth):
        return jwt_bearer(scheme)
    if isinstance(scheme, BasicAuth):
        return basic_auth(scheme)
    if isinstance(scheme, ApiKeyAuth):
        return api_key(scheme)
    raise NotImplementedError(f"no FastAPI zoo auth for {scheme!r}")


def jwt_bearer(scheme: JwtAuth) -> Callable[..., Any]:
    """``Authorization: Bearer <jwt>``, verified with the one algorithm configured."""
    bearer = HTTPBearer(auto_error=False)

    async def verify(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> dict[str, Any]:
        if credentials is None:
            raise _unauthorized("Bearer")
        try:
            claims: dict[str, Any] = jwt.decode(
                credentials.credentials,
                scheme.verification_key,
                algorithms=[scheme.algorithm],
                issuer=scheme.issuer,
                audience=scheme.audience,
                leeway=JWT_LEEWAY_S,
                options={"require": ["exp", "iat"]},
            )
        except jwt.InvalidTokenError as error:
            raise _unauthorized("Bearer") from error
        return claims

    return verify


def basic_auth(scheme: BasicAuth) -> Callable[..., Any]:
    basic = HTTPBasic(auto_error=False)

    async def verify(credentials: Annotated[HTTPBasicCredentials | None, Depends(basic)]) -> str:
        if credentials is None:
            raise _unauthorized("Basic")
        user_ok = hmac.compare_digest(credentials.username.encode(), scheme.user.encode())
        password_ok = hmac.compare_digest(credentials.password.encode(), scheme.password.encode())
        if not (user_ok and password_ok):
            raise _unauthorized("Basic")
        return credentials.username

    return verify


def api_key(scheme: ApiKeyAuth) -> Callable[..., Any]:
    header = APIKeyHeader(name=scheme.header_name, auto_error=False)

    async def verify(key: Annotated[str | None, Depends(header)]) -> None:
        if not key or not hmac.compare_digest(key.encode(), scheme.value.encode()):
            raise _unauthorized("ApiKey")

    return verify


class Ledger:
    """What was processed, per (event, resource id); ``GET /ledger`` in the reference format."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}

    def record_once(self, event: str, id_: str) -> bool:
        """Record a first delivery; False (and nothing recorded) for a duplicate."""
        if (event, id_) in self._counts:
            return False
        self._counts[(event, id_)] = 1
        return True

    def as_json(self) -> dict[str, Any]:
        return {
            "processed": [
                {"event": event, "id": id_, "count": count}
                for (event, id_), count in self._counts.items()
            ]
        }


class ConnectionPool:
    """A few database connections, checked out per request by a ``Depends``; fails fast.

    The mistake: "no connection free" becomes a 503, so a burst of concurrent deliveries gets
    5xx answers instead of a 429 that tells the sender when to come back. One at a time (every
    check but the burst) it never runs dry.
    """

    def __init__(self, size: int = 4, checkout_s: float = 0.02) -> None:
        self._free = asyncio.Semaphore(size)
        self._checkout_s = checkout_s

    async def connection(self) -> AsyncIterator[None]:
        if self._free.locked():
            raise HTTPException(503, "database busy, try again", headers={"Retry-After": "1"})
        async with self._free:
            await asyncio.sleep(self._checkout_s)  # the pre-ping on checkout
            yield


def new_app(limiter: Limiter, ledger: Ledger) -> FastAPI:
    """A FastAPI app with the limiter installed and the ledger served."""
    app = FastAPI(title="Record360 webhooks")
    app.state.limiter = limiter
    app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)

    @app.get("/ledger")
    async def read_ledger() -> dict[str, Any]:
        return ledger.as_json()

    return app


def new_limiter() -> Limiter:
    # headers_enabled: X-RateLimit-* on every answer and Retry-After on the 429.
    return Limiter(key_func=get_remote_address, headers_enabled=True)


def resource_id(webhook: BaseModel, resource: str) -> str:
    return str(getattr(webhook, resource).id)


# -- the apps ---------------------------------------------------------------------------------


def webhook_app(
    scheme: AuthScheme | None,
    *,
    known: Mapping[tuple[str, str], type[BaseModel]] = KNOWN,
    authenticate: Callable[[AuthScheme | None], Callable[..., Any]] = require_credentials,
    dependencies: Sequence[Any] = (),
) -> FastAPI:
    """The team's webhook endpoint: authenticate, read ``event``, validate what we handle.

    Unknown events (a new ``event`` value, or a known one on a resource we do not handle) are
    acknowledged unread; known ones are validated and processed once per (event, id).
    """
    limiter, ledger = new_limiter(), Ledger()
    app = new_app(limiter, ledger)

    @app.post("/webhooks", dependencies=[Depends(authenticate(scheme)), *dependencies])
    @limiter.limit(RATE_LIMIT)
    async def receive(request: Request, response: Response, envelope: Envelope) -> dict[str, Any]:
        fields = {"event": envelope.event, **(envelope.model_extra or {})}
        handled = [(envelope.event, key) for key in fields if (envelope.event, key) in known]
        if not handled:
            return {"status": "ignored", "event": envelope.event}
        event, resource = handled[0]
        try:
            webhook = known[(event, resource)].model_validate(fields)
        except ValidationError as error:
            raise RequestValidationError(error.errors(include_url=False)) from error
        first = ledger.record_once(EVENT_NAMES[event], resource_id(webhook, resource))
        return {"status": "processed" if first else "duplicate"}

    return app


def compliant(scheme: AuthScheme | None) -> FastAPI:
    return webhook_app(scheme)


# tolerates-evolution: three ways to close what the contract leaves open.


def closed_models(scheme: AuthScheme | None) -> FastAPI:
    """Every model forbids unknown fields: a new property anywhere is a 422."""
    closed = contract_models(Closed)
    return webhook_app(scheme, known=envelopes(closed.Transaction, closed.Task, Closed))


class IntIdTransaction(TOLERANT.Transaction):
    id: int  # "40849" coerces fine; an opaque id does not


class IntIdTask(TOLERANT.Task):
    id: int


def int_ids(scheme: AuthScheme | None) -> FastAPI:
    """Resource ids typed ``int``: lax mode takes "40849", and 422s the first opaque id."""
    return webhook_app(scheme, known=envelopes(IntIdTransaction, IntIdTask, Tolerant))


#: Every workflow module code seen so far (the examples and the v1 pages).
WorkflowModule = StrEnum("WorkflowModule", {code: code for code in _realism.WORKFLOW_MODULES})


class KnownModulesTransaction(TOLERANT.Transaction):
    workflow_modules: list[WorkflowModule]


def module_enum(scheme: AuthScheme | None) -> FastAPI:
    """Workflow modules as an enum of the codes seen: a new code is a 422."""
    return webhook_app(scheme, known=envelopes(KnownModulesTransaction, TOLERANT.Task, Tolerant))


# ignores-unknown-events: the body is a discriminated union of the two events we know.


def event_union(scheme: AuthScheme | None) -> FastAPI:
    """``Body(discriminator="event")`` over the known events: a new event is a 422."""
    limiter, ledger = new_limiter(), Ledger()
    app = new_app(limiter, ledger)
    TransactionCreated, TaskCompleted = KNOWN.values()
    Webhook = Annotated[TransactionCreated | TaskCompleted, Body(discriminator="event")]

    @app.post("/webhooks", dependencies=[Depends(require_credentials(scheme))])
    @limiter.limit(RATE_LIMIT)
    async def receive(request: Request, response: Response, webhook: Webhook) -> dict[str, Any]:
        resource = "transaction" if webhook.event == "create" else "task"
        first = ledger.record_once(EVENT_NAMES[webhook.event], resource_id(webhook, resource))
        return {"status": "processed" if first else "duplicate"}

    return app


# accepts-valid: a constraint the contract does not make.

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Inspector(TOLERANT.User):
    username: str = Field(pattern=EMAIL)  # "usernames are e-mails": only a string in v1


class InspectorTransaction(TOLERANT.Transaction):
    user: Inspector


def email_usernames(scheme: AuthScheme | None) -> FastAPI:
    """``user.username`` validated as an e-mail: Record360's own example is refused."""
    return webhook_app(scheme, known=envelopes(InspectorTransaction, TOLERANT.Task, Tolerant))


class NeverAddMedia(TOLERANT.Transaction):  # type: ignore[name-defined,misc]
    check_in: bool  # "an inspection is a check-in or a check-out": but null is add-media


def check_in_required(scheme: AuthScheme | None) -> FastAPI:
    """``check_in: bool``: an add-media inspection (``check_in: null``) gets a 422."""
    return webhook_app(scheme, known=envelopes(NeverAddMedia, TOLERANT.Task, Tolerant))


# auth-rejects-invalid: the token's own header decides whether it is verified.


def jwt_trusting_alg_header(scheme: AuthScheme | None) -> Callable[..., Any]:
    """Skips the signature for ``alg: none`` ("unsigned tokens are for local testing")."""
    assert isinstance(scheme, JwtAuth)
    bearer = HTTPBearer(auto_error=False)

    async def verify(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> dict[str, Any]:
        if credentials is None:
            raise _unauthorized("Bearer")
        token = credentials.credentials
        try:
            signed = jwt.get_unverified_header(token).get("alg") != "none"
            claims: dict[str, Any] = jwt.decode(
                token,
                scheme.verification_key,
                algorithms=[scheme.algorithm],
                issuer=scheme.issuer,
                audience=scheme.audience,
                leeway=JWT_LEEWAY_S,
                options={"verify_signature": signed, "require": ["exp", "iat"]},
            )
        except jwt.InvalidTokenError as error:
            raise _unauthorized("Bearer") from error
        return claims

    return verify


def alg_none(scheme: AuthScheme | None) -> FastAPI:
    return webhook_app(scheme, authenticate=jwt_trusting_alg_header)


# rate-limit: overload answered 503 (by the connection pool), not 429.


def busy_pool(scheme: AuthScheme | None) -> FastAPI:
    """A database connection per request, from a pool of 4 that answers 503 when empty."""
    return webhook_app(scheme, dependencies=[Depends(ConnectionPool().connection)])


CASES: list[Case] = [
    Case("fastapi-compliant-jwt", compliant, "jwt"),
    Case("fastapi-compliant-jwt-in-process", compliant, "jwt", serve="in-process"),
    Case("fastapi-compliant-jwt-https", compliant, "jwt", serve="https"),
    Case("fastapi-compliant-basic", compliant, "basic", serve="in-process"),
    Case("fastapi-compliant-api-key", compliant, "api-key", serve="in-process"),
    Case(
        "fastapi-closed-models",
        closed_models,
        "jwt",
        {"tolerates-evolution": "failed"},
        serve="in-process",
    ),
    Case("fastapi-int-ids", int_ids, "jwt", {"tolerates-evolution": "failed"}, serve="in-process"),
    Case(
        "fastapi-module-enum",
        module_enum,
        "jwt",
        {"tolerates-evolution": "failed"},
        serve="in-process",
    ),
    Case(
        "fastapi-event-union",
        event_union,
        "jwt",
        {"ignores-unknown-events": "failed"},
        serve="in-process",
    ),
    Case(
        "fastapi-email-usernames",
        email_usernames,
        "jwt",
        {"accepts-valid": "failed"},
        serve="in-process",
    ),
    Case(
        "fastapi-check-in-required",
        check_in_required,
        "jwt",
        {"accepts-valid": "failed"},
        serve="in-process",
    ),
    Case("fastapi-alg-none", alg_none, "jwt", {"auth-rejects-invalid": "failed"}),
    Case("fastapi-busy-pool", busy_pool, "jwt", {"rate-limit": "failed"}),
]
