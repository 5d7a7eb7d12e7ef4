"""The ``format`` checks of the contract as regular expressions, for the jsonschema-rs fast path.

Why this module exists: :mod:`contracts.schemas` decides most bodies with jsonschema-rs, but the
verdict must stay the one the Python ``jsonschema`` validator gives with its format checker
(``jsonschema[format-nongpl]``). jsonschema-rs's own ``date-time`` accepts leap seconds and
rejects a lowercase ``t``; calling a Python function for every timestamp costs a third of the
speed. So each format the schemas use is restated here as a pattern that jsonschema-rs runs in
Rust, with exactly the checker's semantics (``tests/test_fast_parity.py`` holds both to the same
verdicts):

* ``date-time`` is ``rfc3339_validator.validate_rfc3339(value.upper())``: RFC 3339
  ``date-time``, ``T``/``t`` and ``Z``/``z``, hours 00-23 (no leap second ``60``), offsets up to
  ``23:59``, year 0000 refused, the day checked against the month and leap years;
* ``uri`` is ``rfc3986_validator.validate_rfc3986(value, rule="URI")``: RFC 3986 ``URI``
  (absolute, scheme required; IPv6 and IPvFuture hosts; percent-encodings well formed).

Both reference checks use Python's ``re.match`` with ``$``, which also matches before one final
newline, so both patterns end in ``\\n?$``. A format the schemas use that is not listed here is
refused when the fast path is built (:func:`pattern_for`), never silently skipped.
"""

from __future__ import annotations

from contracts.errors import SchemaError

__all__ = ["FORMATS", "pattern_for"]

# Python's ``$`` (without re.MULTILINE) also matches just before a final "\n".
_END = r"\n?$"

# --- date-time (RFC 3339 section 5.6), with the calendar written out -------------------------
_YEAR = r"(?:[0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)"  # 0001-9999
# Divisible by 4 and not by 100, or by 400 (0400, 0800, ...; 0000 is no year at all).
_LEAP_YEAR = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_DATE = (
    rf"(?:{_YEAR}-(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    rf"|{_YEAR}-(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    rf"|{_YEAR}-02-(?:0[1-9]|1[0-9]|2[0-8])"
    rf"|{_LEAP_YEAR}-02-29)"
)
_TIME = (
    r"[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
    r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
DATE_TIME = rf"^{_DATE}{_TIME}{_END}"

# --- uri (RFC 3986 appendix A, rule URI), as rfc3986-validator 0.1.1 writes it ----------------
_HEX = "[0-9A-Fa-f]"
_H16 = f"{_HEX}{{1,4}}"
_DEC_OCTET = "(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)"  # leading zeros allowed, as there
_IPV4 = rf"(?:{_DEC_OCTET}\.){{3}}{_DEC_OCTET}"
_LS32 = f"(?:{_H16}:{_H16}|{_IPV4})"
_IPV6_FORMS = (  # RFC 3986 section 3.2.2, IPv6address: the nine forms of "::" compression
    f"(?:{_H16}:){{6}}{_LS32}",
    f"::(?:{_H16}:){{5}}{_LS32}",
    f"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
    f"(?:(?:{_H16}:)?{_H16})?::(?:{_H16}:){{3}}{_LS32}",
    f"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
    f"(?:(?:{_H16}:){{0,3}}{_H16})?::(?:{_H16}:){_LS32}",
    f"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
    f"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
    f"(?:(?:{_H16}:){{0,6}}{_H16})?::",
)
_IPV6 = f"(?:{'|'.join(_IPV6_FORMS)})"
_PCT = f"%{_HEX}{{2}}"
_UNRESERVED_SUB = r"a-zA-Z0-9_.~\-!$&'()*+,;="
_USERINFO = rf"(?:(?:[{_UNRESERVED_SUB}:]|{_PCT})*@)?"
_IP_LITERAL = rf"\[(?:{_IPV6}|v{_HEX}+\.[{_UNRESERVED_SUB}:]+)\]"
_REG_NAME = rf"(?:[{_UNRESERVED_SUB}]|{_PCT})*"
_AUTHORITY = rf"{_USERINFO}(?:{_IP_LITERAL}|{_IPV4}|{_REG_NAME})(?::[0-9]*)?"
_PCHAR = rf"(?:[{_UNRESERVED_SUB}:@]|{_PCT})"
_QUERY = rf"(?:[{_UNRESERVED_SUB}:@/?]|{_PCT})*"
_HIER_PART = (
    rf"(?://{_AUTHORITY}(?:/{_PCHAR}*)*"  # path-abempty
    rf"|/(?:{_PCHAR}+(?:/{_PCHAR}*)*)?"  # path-absolute
    rf"|{_PCHAR}+(?:/{_PCHAR}*)*"  # path-rootless
    r"|)"  # path-empty
)
URI = rf"^[a-zA-Z][a-zA-Z0-9+.\-]*:{_HIER_PART}(?:\?{_QUERY})?(?:#{_QUERY})?{_END}"

#: Every format the fast path checks, as a pattern with the reference checker's semantics.
FORMATS: dict[str, str] = {"date-time": DATE_TIME, "uri": URI}


def pattern_for(name: str, *, where: str) -> str:
    """The pattern standing in for ``format: name``; an unlisted format is a schema error."""
    try:
        return FORMATS[name]
    except KeyError:
        raise SchemaError(
            f"{where} uses format {name!r}, which the fast validator does not check; "
            f"add it to contracts/_formats.py (known: {', '.join(FORMATS)})"
        ) from None
