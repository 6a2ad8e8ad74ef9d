"""The ``dvflag`` command line: database, audit, users, demo and conformance."""
