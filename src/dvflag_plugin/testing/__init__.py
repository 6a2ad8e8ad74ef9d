"""Test support shipped in the package: database backends and the pytest plugin (``pytest11``)."""
