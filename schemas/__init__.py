"""The Record360 v1 webhook contract as data (JSON Schema 2020-12 files under ``v1/``).

This folder is a package only so that the files ship inside the wheel as ``r360_schemas`` and an
installed tool finds them through :mod:`importlib.resources`, never through a path into the repo.
Read them through :mod:`contracts.schemas`.
"""
