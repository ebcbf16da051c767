"""The Studio app: five screens (one Textual mode each), keys 1-5, help, and the command palette."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen

from studio.tui.commands import StudioCommands
from studio.tui.screens.help import HelpScreen
from studio.tui.widgets.chrome import SCREEN_TABS, StudioHeader
from studio.workspace import Workspace

# Each screen's module is imported on the first visit, so the first frame pays for one screen
# (`studio vocab` never loads the charting code of the Model and Train screens).
SCREEN_MODULES = {
    "corpus": "studio.tui.screens.corpus:CorpusScreen",
    "tokenizer": "studio.tui.screens.tokenizer:TokenizerScreen",
    "model": "studio.tui.screens.model:ModelScreen",
    "train": "studio.tui.screens.train:TrainScreen",
    "runs": "studio.tui.screens.runs:RunsScreen",
}


def screen_class(mode: str) -> type[Screen]:
    """The screen class of a mode, imported on first use."""
    module, _, name = SCREEN_MODULES[mode].partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def screen_classes() -> dict[str, type[Screen]]:
    """Every screen class by mode (imports them all: for help and tests, not for start-up)."""
    return {mode: screen_class(mode) for mode in SCREEN_MODULES}


def _new_screen(mode: str) -> Screen:
    return screen_class(mode)()


class StudioApp(App[int]):
    """The studio on one workspace. `start_screen` and its arguments open it on a given task."""

    TITLE = "Studio"
    CSS_PATH = "studio.tcss"
    MODES: ClassVar[dict[str, Any]] = {mode: functools.partial(_new_screen, mode) for mode in SCREEN_MODULES}
    DEFAULT_MODE = "corpus"
    COMMANDS = App.COMMANDS | {StudioCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            Binding(
                str(i),
                f"show('{mode}')",
                label.split(" ", 1)[1],
                show=False,
                id=f"screen.{mode}",
                tooltip=f"Go to the {label.split(' ', 1)[1]} screen",
            )
            for i, (mode, label) in enumerate(SCREEN_TABS, start=1)
        ),
        Binding(
            "question_mark,f1",
            "help",
            "Help",
            key_display="?",
            id="app.help",
            tooltip="Keys and what each screen is for",
        ),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Quit Studio (runs keep training)"),
    ]

    run_state: reactive[str] = reactive("no active run")

    def __init__(
        self, workspace: Workspace, animations: bool = True, start_screen: str = "corpus", **start: Any
    ) -> None:
        self.start_screen = start_screen if start_screen in SCREEN_MODULES else "corpus"
        # Start straight on that screen (read by App.__init__): the Corpus screen is not mounted
        # first, so it never mistakes `studio vocab`'s start_path for a corpus.
        self.DEFAULT_MODE = self.start_screen  # type: ignore[misc]
        super().__init__()
        self.workspace = workspace
        self.start_args = start  # e.g. start_path for `studio vocab`, start_run for `studio attach`
        # Screens that may need to ask before the app quits: each returns True if it asked.
        self.quit_guards: list[Callable[[], bool]] = []
        if not animations:
            self.animation_level = "none"

    def on_mount(self) -> None:
        self.switch_mode(self.start_screen)

    def start_args_for(self, mode: str) -> dict[str, Any]:
        """What the command line asked the screen `mode` to open (only the first screen is asked)."""
        return self.start_args if mode == self.start_screen else {}

    def action_show(self, mode: str) -> None:
        if mode in SCREEN_MODULES and mode != self.current_mode:
            self.switch_mode(mode)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def launch_run(self, config: Any) -> None:
        """Start a training run from a `RunConfig` (the Model screen's "train" action) and watch it."""
        self.switch_mode("train")
        starter = getattr(self.screen, "start_run", None)
        if starter is None:
            self.notify("The Train screen cannot start runs yet.", severity="error")
            return
        starter(config)

    async def action_quit(self) -> None:
        """Quit, unless a screen asks first (the Train screen does while a run is training)."""
        if any(guard() for guard in self.quit_guards):
            return
        self.exit()

    def watch_run_state(self, state: str) -> None:
        for header in self.screen.query(StudioHeader):
            header.run_state = state

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for mode, label in SCREEN_TABS:
            name = label.split(" ", 1)[1]
            yield SystemCommand(
                f"Go to {name}", f"Open the {name} screen", lambda mode=mode: self.action_show(mode)
            )
