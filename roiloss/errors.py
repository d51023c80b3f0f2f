"""The errors the library raises for bad input and unwritable output."""


class InputError(ValueError):
    """The input cannot be read (or, in strict mode, holds an invalid box); the message names the
    file and the place."""


class OutputError(Exception):
    """An output file cannot be written; the message names it."""
