"""The one exception type the CLI turns into a one-line message and a non-zero exit."""


class FerdataError(Exception):
    """Bad input or a broken contract, described in one line that names the file (and row)."""
