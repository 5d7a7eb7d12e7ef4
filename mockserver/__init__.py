"""Record360's side of the webhook: auth, delivery, the mock server, a reference consumer."""
