"""The Model screen: the form re-validates on every edit, a fix is one key away, saves, and looks right."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from textual.pilot import Pilot
from textual.worker import WorkerState

from studio.corpus.demo import iter_demo_lines
from studio.tui.app import StudioApp
from studio.tui.screens.model import ModelScreen
from studio.tui.widgets.model import FieldRow, ProblemList
from studio.workspace import Workspace


@pytest.fixture(scope="module")
def workspace_dir(
    tmp_path_factory: pytest.TempPathFactory, make_roberta_tokenizer: Callable[..., Path]
) -> Path:
    """A workspace with a small corpus and a byte-level BPE tokenizer (trained here with `tokenizers`)."""
    root = tmp_path_factory.mktemp("model-screen")
    lines = list(itertools.islice(iter_demo_lines(), 2000))
    (root / "ws" / "corpora").mkdir(parents=True)
    (root / "ws" / "corpora" / "demo.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    make_roberta_tokenizer(root / "ws" / "tokenizers" / "bpe", n_lines=2000, vocab_size=500)
    return root


@pytest.fixture
def app(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StudioApp]:
    """The app on the Model screen, on a workspace named by a relative path (no tmp path on screen)."""
    monkeypatch.chdir(workspace_dir)
    yield StudioApp(Workspace(Path("ws")), animations=False, start_screen="model")


async def _settle(pilot: Pilot) -> None:
    """Wait until no worker is pending or running and the screen shows the check of the latest edit."""
    screen = pilot.app.screen
    for _ in range(2400):
        await pilot.pause(0.05)
        busy = any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in pilot.app.workers)
        settled = (
            isinstance(screen, ModelScreen) and screen.report is not None and screen._shown_seq == screen.seq
        )
        if settled and not busy:
            await pilot.pause()
            return
    raise AssertionError("the Model screen never finished checking")


async def _type_into(pilot: Pilot, field: str, text: str) -> None:
    row = pilot.app.screen.query_one(f"#field-{field.replace('.', '-')}", FieldRow)
    row.input.focus()
    await pilot.pause()
    row.input.value = ""
    await pilot.press(*text)
    await _settle(pilot)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_edit_shows_problem_and_fix_key_clears_it(app: StudioApp, size: tuple[int, int]) -> None:
    """Typing 3 heads for hidden 128 shows a problem on that field; ctrl+f applies the fix; it is gone."""
    async with app.run_test(size=size) as pilot:
        await _settle(pilot)
        screen = app.screen
        assert isinstance(screen, ModelScreen)
        assert screen.report.problems == []
        assert screen.report.estimates["params"] > 0
        await _type_into(pilot, "model.num_attention_heads", "3")
        assert [p.field for p in screen.report.problems] == ["model.num_attention_heads"]
        assert screen.query_one("#field-model-num_attention_heads", FieldRow).has_class("-problem")
        assert screen.query_one(ProblemList).current_fix() == "model.num_attention_heads=2"
        await pilot.press("ctrl+f")
        await _settle(pilot)
        assert screen.report.problems == []
        assert screen.config.model.fields["num_attention_heads"] == 2
        assert screen.query_one("#field-model-num_attention_heads", FieldRow).input.value == "2"


async def test_bad_value_is_a_problem_not_a_crash(app: StudioApp) -> None:
    """A value of the wrong type (a block size of 'abc', a dropout of 2) is shown as a problem."""
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        screen = app.screen
        await _type_into(pilot, "data.block_size", "abc")
        problems = screen.query_one(ProblemList)
        assert problems.fixes == [None] and "block_size" in str(problems.get_option_at_index(0).prompt)
        await _type_into(pilot, "data.block_size", "128")
        await _type_into(pilot, "model.hidden_dropout_prob", "2")
        assert [p.field for p in screen.report.problems] == ["model.hidden_dropout_prob"]


async def test_reformer_for_causal_lm_needs_its_rules(app: StudioApp) -> None:
    """Choosing Reformer and causal LM gives a decoder config; an axial shape off the block is flagged."""
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        screen = app.screen
        screen.query_one("#choose-arch").value = "reformer"
        await _settle(pilot)
        screen.query_one("#choose-task").value = "clm"
        await _settle(pilot)
        assert screen.config.model.arch == "reformer" and screen.config.model.fields["is_decoder"] is True
        await _type_into(pilot, "model.axial_pos_shape", "[8,8]")
        fields = [p.field for p in screen.report.problems]
        assert "model.axial_pos_shape" in fields


async def test_help_line_names_what_has_the_focus(app: StudioApp) -> None:
    """Tab walks fields and choices alike; the line under the form names each (keyboard users read it)."""
    from textual.widgets import Select, Static

    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        screen = app.screen
        help_line = screen.query_one("#field-help", Static)
        screen.query_one("#choose-preset", Select).focus()
        await pilot.pause()
        assert str(help_line.render()).startswith("preset  Starting values")
        await pilot.press("tab", "tab", "tab")  # tokenizer, corpus, then the run name
        assert str(help_line.render()).startswith("studio.name  Run name")
        screen.query_one(ProblemList).focus()
        await pilot.pause()
        assert str(help_line.render()) == "Field help appears here."


async def test_values_show_while_the_field_help_still_loads(
    app: StudioApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The field help needs transformers (seconds on a first visit); the values must not wait for it."""
    import threading

    import studio.model.live as live

    release = threading.Event()
    real_field_info = live.field_info

    def slow_field_info(arch: str) -> live.FieldInfo:
        assert release.wait(60), "the test never released the field info"
        return real_field_info(arch)

    monkeypatch.setattr(live, "field_info", slow_field_info)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, ModelScreen)
        hidden = None
        for _ in range(200):
            await pilot.pause(0.05)
            rows = screen.query(FieldRow)
            hidden = next((r for r in rows if r.field == "model.hidden_size"), None)
            if hidden is not None and hidden.input.value:
                break
        assert hidden is not None and hidden.input.value == "128", "the values waited for the field help"
        steps = screen.query_one("#field-train-max_steps", FieldRow)
        assert steps.input.value == "300"
        assert hidden.help_text == ""  # still loading
        hidden.input.focus()
        await pilot.pause()
        release.set()
        await _settle(pilot)
        assert hidden.help_text  # filled in once loaded, and the help line follows the focus
        help_line = str(screen.query_one("#field-help").render())
        assert help_line.startswith("model.hidden_size  ") and len(help_line) > len("model.hidden_size  ")


async def test_save_writes_a_run_config(app: StudioApp, workspace_dir: Path) -> None:
    """ctrl+s writes configs/NAME.yaml under the workspace, loadable as a run config."""
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        await _type_into(pilot, "studio.name", "my-run")
        await pilot.press("ctrl+s")
        await pilot.pause()
    saved = workspace_dir / "ws" / "configs" / "my-run.yaml"
    data = yaml.safe_load(saved.read_text())
    assert data["model"]["arch"] == "roberta" and data["studio"]["name"] == "my-run"
    assert os.path.basename(data["data"]["tokenizer"]) == "bpe"


def test_model_screen_snapshot(app: StudioApp, snap_compare) -> None:  # type: ignore[no-untyped-def]
    """The Model screen at 120x40 with the tiny-cpu preset checked and estimated."""
    assert snap_compare(app, terminal_size=(120, 40), run_before=_settle)


async def test_train_key_saves_and_launches(app: StudioApp, monkeypatch: pytest.MonkeyPatch) -> None:
    """ctrl+t on a valid config hands the run config to the app's launch_run."""
    launched = []
    monkeypatch.setattr(app, "launch_run", launched.append)
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        await pilot.press("ctrl+t")
        await pilot.pause()
    assert len(launched) == 1 and launched[0].model.arch == "roberta"


async def test_workspace_without_tokenizer_opens_with_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no tokenizer yet, the form still opens, names data.tokenizer, and estimates the model."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ws" / "corpora").mkdir(parents=True)
    (tmp_path / "ws" / "corpora" / "a.txt").write_text("saluton mondo\n" * 50)
    app = StudioApp(Workspace(Path("ws")), animations=False, start_screen="model")
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        screen = app.screen
        assert [p.field for p in screen.report.problems] == ["data.tokenizer"]
        assert screen.report.estimates["params"] > 0
