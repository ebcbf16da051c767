"""The problems of the current config, each with the fix one key away."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from studio.text import visible


class FixRequested(Message):
    """Apply this `--set`-style fix."""

    def __init__(self, fix: str) -> None:
        super().__init__()
        self.fix = fix


class ProblemList(OptionList):
    """One entry per problem: field, why, and the fix; Enter (or f) applies the highlighted fix."""

    DEFAULT_CSS = """
    ProblemList { height: auto; max-height: 9; border: round $error; }
    ProblemList.-valid { border: round $success; }
    """
    BINDINGS = [
        Binding("f", "fix", "Fix", id="model.problems.fix", tooltip="Apply the highlighted problem's fix"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(markup=False, **kwargs)
        self.fixes: list[str | None] = []
        self.border_title = "Problems"

    def set_problems(self, problems: Sequence[Any]) -> None:
        """Show these problems (objects with field, message, fix), or a single line saying all is valid."""
        highlighted = self.highlighted
        self.clear_options()
        self.fixes = [p.fix for p in problems]
        self.set_class(not problems, "-valid")
        self.border_title = f"Problems ({len(problems)})" if problems else "Valid"
        if not problems:
            self.add_option(Option(Text("No problems: this model can be trained."), disabled=True))
            return
        for problem in problems:
            line = Text()
            line.append(visible(problem.field), style="bold")
            line.append(f": {visible(problem.message)}")
            if problem.fix:
                line.append(f"\n  fix: {visible(problem.fix)}", style="green")
            self.add_option(Option(line))
        if highlighted is not None:
            self.highlighted = min(highlighted, len(problems) - 1)
        else:
            self.highlighted = 0

    def current_fix(self) -> str | None:
        """The highlighted problem's fix, else the first fix offered."""
        if (
            self.highlighted is not None
            and self.highlighted < len(self.fixes)
            and self.fixes[self.highlighted]
        ):
            return self.fixes[self.highlighted]
        return next((f for f in self.fixes if f), None)

    def action_fix(self) -> None:
        fix = self.current_fix()
        if fix:
            self.post_message(FixRequested(fix))

    def _on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_index < len(self.fixes) and self.fixes[event.option_index]:
            self.post_message(FixRequested(self.fixes[event.option_index]))  # type: ignore[arg-type]
