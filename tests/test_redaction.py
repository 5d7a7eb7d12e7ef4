"""mockserver.redaction: permanent and ephemeral secrets, header-level redaction."""

from __future__ import annotations

from mockserver.redaction import PLACEHOLDER, RECENT_SECRETS, Redactor


def test_permanent_secrets_are_scrubbed_anywhere_longest_first() -> None:
    redactor = Redactor(["abcd", "abcdefgh"], sensitive_headers=["X-Key"])
    assert redactor.text("x abcdefgh y abcd") == f"x {PLACEHOLDER} y {PLACEHOLDER}"
    assert redactor.headers({"X-Key": "anything", "Other": "has abcd"}) == {
        "X-Key": PLACEHOLDER,
        "Other": f"has {PLACEHOLDER}",
    }
    assert redactor.text("abc") == "abc"  # too short to scrub from free text


def test_ephemeral_secrets_are_bounded_but_recent_ones_are_scrubbed() -> None:
    redactor = Redactor(["permanent-secret"])
    tokens = [f"jwt-token-{i:06d}" for i in range(RECENT_SECRETS + 100)]
    for token in tokens:
        redactor.add_secret(token, ephemeral=True)
    assert redactor.text(tokens[-1]) == PLACEHOLDER
    assert redactor.text(tokens[0]) == tokens[0]  # long forgotten: memory stays flat
    assert len(redactor._secrets) == RECENT_SECRETS + 1
    redactor.add_secret(tokens[0], ephemeral=True)
    redactor.add_secret("permanent-secret", ephemeral=True)  # never demoted
    assert redactor.text("permanent-secret") == PLACEHOLDER


def test_generation_changes_exactly_when_redaction_changes() -> None:
    redactor = Redactor(["abcd"])
    start = redactor.generation
    redactor.add_secret("abcd")  # already known
    redactor.add_secret("ab")  # too short to scrub
    redactor.add_sensitive_header("Authorization")  # already sensitive
    assert redactor.generation == start
    redactor.add_secret("token-1", ephemeral=True)
    assert redactor.generation == start + 1
    redactor.add_secret("token-1", ephemeral=True)  # only moved to the end
    assert redactor.generation == start + 1
    redactor.add_sensitive_header("X-Custom-Key")
    assert redactor.generation == start + 2
