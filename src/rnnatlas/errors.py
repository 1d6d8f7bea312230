"""The one exception type for bad input to a stage: a wrong, missing or foreign file, a
mismatched argument list, an invalid configuration. The command line prints such an error as
one line naming what is wrong (exit status 2); any other exception is a fault in rnnatlas and
keeps its traceback."""


class InputError(ValueError):
    """Bad input; the message names the file or argument and what was expected."""
