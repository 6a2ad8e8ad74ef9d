"""The ``dvflag`` operator command line.

Adding a command: write it in a new module here, register it in ``main.py`` with ``main.add_command``
(or ``audit.add_command`` …), give the command and each option Japanese and English help (a test walks
the tree), take the database with ``database.url_option`` and ``database.open_engine`` /
``database.open_runtime``, and raise ``errors.OperatorError(ja, en)`` (or let a ``DvflagError`` or a
database error propagate) for expected failures: the root group prints them and exits with code 2.
"""
