# The one exception command modules raise to stop with a message and a nonzero exit status.


class ToolError(Exception):
    """A failure to report as "scalloc: <message>" before exiting with exit_code."""

    def __init__(self, message, exit_code=1):
        super().__init__(message)
        self.exit_code = exit_code
