"""The command line's one-line progress bar on stderr (train and stylize), drawn only on a terminal."""

import sys


class TerminalProgress:
    """Base of the verbs' progress bars: ``enabled`` only when stderr is a terminal; ``total`` steps
    is set by the run's start event; ``draw`` redraws the bar in place."""

    def __init__(self):
        self.enabled = sys.stderr.isatty()
        self.total = 0

    def draw(self, step: int, line: str) -> None:
        """[######........]  42.0% line, over the previous bar."""
        done = step / max(self.total, 1)
        bar = "#" * int(30 * done) + "." * (30 - int(30 * done))
        print(f"\r[{bar}] {100 * done:5.1f}% {line} ", end="", file=sys.stderr, flush=True)
