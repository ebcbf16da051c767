"""The command palette provider: the current screen's actions, found by name."""

from __future__ import annotations

from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider


class StudioCommands(Provider):
    """Offers every visible binding of the active screen (train tokenizer, stop run, …) by name."""

    def _actions(self) -> list[tuple[str, str, Binding]]:
        screen = self.screen
        found = []
        for binding in getattr(screen, "BINDINGS", []):
            if isinstance(binding, Binding) and binding.description:
                title = getattr(screen, "TITLE", "") or "Studio"
                found.append(
                    (f"{title}: {binding.description}", binding.tooltip or binding.description, binding)
                )
        return found

    async def _run(self, action: str) -> None:
        await self.screen.run_action(action)

    async def discover(self) -> Hits:
        for name, help_text, binding in self._actions():
            yield DiscoveryHit(name, partial(self._run, binding.action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, binding in self._actions():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self._run, binding.action), help=help_text)
