"""The commands: each parses its options (cli.py), makes one library call, prints or writes.
Importing this package registers them on :func:`roiloss.cli.main`."""

from . import analyze, audit, catalogue, grid  # noqa: F401
