# Progress lines for long multi-step commands ("[3/12] asan/malloc_api_tests").

import sys


class Progress:
    """Numbered progress lines. On a terminal a step line is rewritten in place by the next output
    printed through note(); in logs (not a terminal) every step stays on its own line.
    """

    def __init__(self, total, stream=None):
        self.total = total
        self.index = 0
        self.stream = stream or sys.stdout
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._pending = False

    def step(self, text):
        """Starts the next step and shows "[i/total] text"."""
        self.index += 1
        line = f"[{self.index}/{self.total}] {text}"
        if self._tty:
            self._clear()
            self.stream.write(line)
            self._pending = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def note(self, text):
        """Prints a permanent line (replacing a pending step line on a terminal)."""
        self._clear()
        self.stream.write(text + "\n")
        self.stream.flush()

    def _clear(self):
        if self._pending:
            self.stream.write("\r\033[K")
            self._pending = False
