"""Values that look like what Record360 sends, for the fields where shape alone is not enough.

A consumer's bugs hide in realistic data: numeric-string IDs that someone parses as integers,
timestamps with milliseconds, e-mail usernames, negative longitudes, checklist answers of every
JSON type. The lists below come from the values seen in Record360's example and v1 pages
(``../shared/record360-v1.md``); each first entry is the most ordinary one, because that is what a
failing body shrinks to.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts._choice import PLAIN, Chooser

Gen = Callable[[Chooser], Any]

_EPOCH = datetime(2015, 1, 1, tzinfo=UTC)
_SPAN_SECONDS = 16 * 365 * 24 * 3600  # 2015 to 2030

FIRST_NAMES = ("Macy", "Ahmad", "auto", "Some", "Dana", "Luis", "Priya", "Kenji", "Zoë")
LAST_NAMES = ("Metova", "Mosciski", "st12-b", "User", "O'Neil", "García", "Nakamura", "Smith")
DOMAINS = ("example.com", "fleet.example", "rentals.example.org", "domain.example")
LOCATIONS = (
    "Main Office",
    "Branch Office",
    "Demo Location",
    "Mobile auto permission location",
    "North Yard",
)
WORKFLOW_MODULES = ("LB1", "LB2", "F3", "PF1", "RC2", "M1", "N1", "N2", "E1", "C1", "C2", "F01")
ARCHIVE_STATUSES = ("active", "archived")
NOTATION_SECTIONS = (
    "Simple",
    "Exterior",
    "Interior",
    "Tires",
    "Fluids",
    "Damage Review",
    "Customer",
)
CHECKLIST_LABELS = (
    "CheckBox-CheckA", "CheckBox-CheckB", "Dropdown-Multi", "Textbox Simple Their Location",
    "Fuel Level", "Odometer", "Tire Tread (mm)", "Lights OK?", "Notes", "Damage noted",
)  # fmt: skip
TASK_STATUSES = ("completed", "complete", "done", "closed", "idle")
TASK_NAMES = ("Inspect Bulldozer", "Check-out Inspection", "Return Inspection", "Service Check")
ACTIVITY_EVENTS = ("Created Task", "Assigned Task", "Updated Task", "Completed Task")
MAKES = (("MINI", "Cooper"), ("Caterpillar", "D6"), ("Ford", "Transit"), ("John Deere", "310L"))
MIME_TYPES = ("image/png", "image/jpeg", "video/mp4", "application/pdf")
NOTATIONS = ("scratch", "dent", "crack", "chip")
INSTRUCTIONS = ("front-fender", "rear-bumper", "odometer", "vin-plate")
_VIN = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def record_id(c: Chooser) -> str:
    """A numeric string, as every v1 example shows (never a JSON number)."""
    return str(c.integer(1, 9_999_999_999))


def timestamp(c: Chooser) -> str:
    """UTC with milliseconds and ``Z``: ``2024-01-16T10:00:13.716Z``."""
    millis = c.integer(0, _SPAN_SECONDS * 1000)  # one draw: timestamps are in every object
    moment = _EPOCH + timedelta(milliseconds=millis)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"


def geo_coord(c: Chooser) -> list[float]:
    """``[longitude, latitude]`` in range; the seed's longitude is negative, so both signs."""
    return [round(c.real(-180.0, 180.0), 6), round(c.real(-90.0, 90.0), 6)]


_LOCAL_PARTS = tuple(
    f"{first}.{last}".lower().replace("'", "") for last in LAST_NAMES for first in FIRST_NAMES
)


def email(c: Chooser) -> str:
    return f"{c.choice(_LOCAL_PARTS)}{c.integer(0, 99) or ''}@{c.choice(DOMAINS)}"


def full_name(c: Chooser) -> str:
    return f"{c.choice(FIRST_NAMES)} {c.choice(LAST_NAMES)}"


def media_url(kind: str, extension: str) -> Gen:
    def gen(c: Chooser) -> str:
        if kind == "image" and c.boolean():
            return f"https://app.record360.com/m/{c.text(PLAIN, 4, 8)}"
        folder, number = c.integer(1, 99999), c.integer(1, 99)
        return (
            f"https://record360-media.s3.amazonaws.com/{folder}/{kind}/{kind}{number}.{extension}"
        )

    return gen


def https_url(c: Chooser) -> str:
    return f"https://app.record360.com/m/{c.text(PLAIN, 4, 8)}"


def external_id(c: Chooser) -> str:
    style = c.integer(0, 2)
    if style == 0:
        return c.text("0123456789", 6, 13)
    if style == 1:
        return c.text(_VIN, 17, 17)  # a VIN
    return f"FL-{c.integer(1, 99999)}"


def checklist_answer(c: Chooser) -> Any:
    """An answer of any JSON type a checklist field kind produces."""
    kind = c.integer(0, 5)
    if kind == 0:
        return c.boolean()
    if kind == 1:
        return c.text(PLAIN + " ", 0, 24)
    if kind == 2:
        return c.integer(-10, 250_000)
    if kind == 3:
        return round(c.real(0.0, 1000.0), 2)
    if kind == 4:
        return [
            c.choice(("Option A", "Option B", "Scratched", "Dented"))
            for _ in range(c.integer(0, 3))
        ]
    return None


def checklist(c: Chooser, low: int = 0, high: int = 4) -> dict[str, Any]:
    return {label: checklist_answer(c) for label in c.sample(CHECKLIST_LABELS, low, high)}


def notations(c: Chooser) -> dict[str, Any]:
    """Sections of checklist answers, like the seed's ``{"Simple": {"Textbox ...": "..."}}``."""
    return {section: checklist(c, 1, 4) for section in c.sample(NOTATION_SECTIONS, 0, 3)}


def extended(c: Chooser) -> dict[str, Any]:
    keys = c.sample(("contract_id", "fleet_id", "po_number", "cost_center"), 0, 3)
    return {
        k: c.integer(1, 99999) if k.endswith("_id") else f"{k[:2].upper()}-{c.integer(1, 999)}"
        for k in keys
    }


def pick(options: tuple[Any, ...]) -> Gen:
    return lambda c: c.choice(options)


def digits(low: int, high: int) -> Gen:
    return lambda c: c.text("0123456789", low, high)


def phone(c: Chooser) -> str:
    return "+1" + c.text("0123456789", 10, 10)


#: Realistic values by ``schema.property`` (checked first) or by property name.
OVERRIDES: dict[str, Gen] = {
    "user.username": email,
    "user.email": email,
    "user.first_name": pick(FIRST_NAMES),
    "user.last_name": pick(LAST_NAMES),
    "user.role": pick(("user", "manager")),
    "user.phone_number": phone,
    "user.external_id": lambda c: f"s_user{c.integer(1, 999)}",
    "task_person.email": email,
    "task_person.name": full_name,
    "location.name": pick(LOCATIONS),
    "location.address1": lambda c: (
        f"{c.integer(1, 9999)} {c.choice(('Thackeray Pl NE', 'Main St', 'Harbor Way'))}"
    ),
    "location.address2": lambda c: f"Suite {c.integer(1, 999)}",
    "location.city": pick(("Seattle", "Rockford", "San Francisco", "Austin")),
    "location.state": pick(("WA", "IL", "CA", "TX")),
    "location.zipcode": digits(5, 5),
    "location.timezone": pick(("PST", "CST", "EST", "MST")),
    "asset.external_id": external_id,
    "asset.make": lambda c: c.choice(MAKES)[0],
    "asset.model": lambda c: c.choice(MAKES)[1],
    "asset.year": lambda c: c.integer(1990, 2026),
    "transaction.workflow_modules": lambda c: c.sample(WORKFLOW_MODULES, 0, 9),
    "transaction.archive_status": pick(ARCHIVE_STATUSES),
    "transaction.email_sent_to": lambda c: [email(c) for _ in range(c.integer(0, 2))],
    "transaction.sms_summary_numbers": lambda c: [phone(c) for _ in range(c.integer(0, 2))],
    "transaction.workflow_name": pick(("Pickup", "Return", "Delivery", "Yard Check")),
    "transaction.damage_cost": lambda c: round(c.real(0.0, 5000.0), 2),
    "transaction.view_url": lambda c: "https://dashboard.record360.com/dashboard/inspections/0",
    "task.status": pick(TASK_STATUSES),
    "task.name": pick(TASK_NAMES),
    "task.reference_number": lambda c: f"WO-{c.integer(1, 99999)}",
    "activity.event": pick(ACTIVITY_EVENTS),
    "photo.url": media_url("image", "jpg"),
    "photo.instruction_id": pick(INSTRUCTIONS),
    "photo.notation": pick(NOTATIONS),
    "video.url": media_url("video", "mp4"),
    "video.thumbnail_url": media_url("image", "jpg"),
    "signature.url": media_url("signature", "png"),
    "file.type": pick(MIME_TYPES),
    "ident_doc.front_image": lambda c: f"license{c.integer(1, 99)}",
    "ident_doc.back_image": lambda c: f"license{c.integer(1, 99)}b",
    "byte_size": lambda c: c.integer(1_000, 50_000_000),
    "size": lambda c: c.integer(1_000, 50_000_000),
    "notations": notations,
    "values": checklist,
    "extended": extended,
    "identity": lambda c: {},
}

#: Realistic values for the shared value types of ``common.json``.
COMMON: dict[str, Gen] = {
    "id": record_id,
    "timestamp": timestamp,
    "geo_coord": geo_coord,
    "https_url": https_url,
    "checklist_answer": checklist_answer,
}

#: (low, high) item counts by ``schema.property``; media lists run from empty to several.
LIST_SIZES: dict[str, tuple[int, int]] = {
    "task.activities": (1, 3),
    "asset.damages": (0, 2),
    "damage.photos": (1, 2),
    "transaction.forms": (0, 2),
}
DEFAULT_LIST_SIZE = (0, 3)
