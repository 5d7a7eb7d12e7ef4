"""The Record360 v1 webhook contract in code: load, validate, generate, evolve and verify."""
