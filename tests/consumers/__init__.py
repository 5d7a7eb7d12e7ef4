"""The zoo: consumers written the way real teams write them, each breaking exactly one rule.

Every check of the verifier is proven here: a consumer that violates that rule is caught by
that check and by no other, and compliant consumers of the same kinds pass. Cases live in the
framework modules (``flask_zoo``, ``fastapi_zoo``); ``tests/test_zoo.py`` runs them all.
"""
