"""Examples the README quotes; tests run them, so the docs cannot rot."""
