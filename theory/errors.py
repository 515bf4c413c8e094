"""The one error type for bad input, in a module that imports nothing: every layer raises it, and importing it
costs nothing (theory.symbols, which loads sympy, re-exports it)."""


class InputError(ValueError):
    """An argument outside its valid range or set (a parameter, a config field, a file that is not a run): the
    message names it and what is valid. The command line reports these in one line with exit status 2; any other
    exception is a bug, exit status 1."""
