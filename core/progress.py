"""Progress of long work in a management command, the one way every command shows it.

On a terminal a bar (or a counter, when the total is unknown) is redrawn in place; otherwise a
line is written per step, at most one per `every` units, so logs stay readable.
"""

BAR_WIDTH = 30


class Progress:
    def __init__(self, stream, *, label: str, total: int | None = None, every: int = 1):
        self.stream = stream
        self.label = label
        self.total = total
        self.every = every
        self.tty = getattr(stream, "isatty", lambda: False)()
        self.next_line = every
        self.shown = False

    def update(self, done: int, detail: str = "", *, line: str | None = None) -> None:
        """`done` units so far; `line` replaces the default text of a logged (non-terminal) line."""
        if self.tty:
            self.stream.write(f"\r{self._text(done, detail, bar=True)}", ending="")
            self.stream.flush()
            self.shown = True
            if self.total is not None and done >= self.total:
                self.end()
        elif done >= self.next_line or (self.total is not None and done >= self.total):
            self.stream.write(line or self._text(done, detail, bar=False))
            self.next_line = (done // self.every + 1) * self.every

    def end(self) -> None:
        """Finish the terminal's line; nothing to do when lines were logged."""
        if self.shown:
            self.stream.write("")
            self.shown = False

    def _text(self, done: int, detail: str, *, bar: bool) -> str:
        if self.total is None:
            text = f"{done:,} {self.label}"
        else:
            text = f"{done:,}/{self.total:,} {self.label}"
            if bar:
                filled = BAR_WIDTH * done // self.total if self.total else BAR_WIDTH
                text = f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {text}"
        return f"{text} {detail}".rstrip()
