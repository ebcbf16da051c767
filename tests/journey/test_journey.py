"""The user's journey (docs: DESIGN.md, "The user's journey") through the real `studio` binary in tmux.

The RoBERTa path is keys only: tokenizer trained on the Tokenizer screen, the blog's preset chosen and
shrunk to CPU size in the Model form, the run started there (ctrl+t) and followed on the Train and Runs
screens. The Reformer path trains its tokenizer by keys and starts its two runs headless
(`studio config init` + `studio train --detach`), then follows the causal one with `studio attach`.
"""

from __future__ import annotations

import itertools
import re
import time
from pathlib import Path

import pytest
from journey_helpers import (
    final_files,
    probes_of,
    reveal_probes,
    start_app,
    studio,
    type_keys,
    type_text,
    wait_first_probe,
    wait_run_end,
)

from studio.config import load_config

pytestmark = pytest.mark.slow


def _field_value(screen: str, label: str) -> str | None:
    """What the screen shows after `label` on its line (the input's visible text), or None."""
    shown = re.search(rf"^ *{re.escape(label)} +(.*?) *$", screen, re.MULTILINE)
    return shown.group(1) if shown else None


def _focus_input(tmux, label: str, attempts: int = 14) -> None:  # type: ignore[no-untyped-def]
    """Tab until the input labelled `label` has the focus, found by typing a 9 and seeing where it lands.

    The 9 counts only where it ends the field's text: a path shown in the field may hold a 9 already
    (pytest's temporary folders are numbered)."""
    for _ in range(attempts):
        before = tmux.screen()
        type_keys(tmux, "End")
        type_text(tmux, "9")
        deadline = time.monotonic() + 2.0
        after = tmux.screen()
        while after == before and time.monotonic() < deadline:
            time.sleep(0.1)
            after = tmux.screen()
        if after != before:
            type_keys(tmux, "BSpace")  # the 9 landed somewhere: take it back
            typed = _field_value(after, label)
            if typed is not None and typed.endswith("9") and typed != _field_value(before, label):
                tmux.wait_for(lambda s, typed=typed: _field_value(s, label) != typed, timeout=10)
                return
        type_keys(tmux, "Tab")
    pytest.fail(f"could not focus the {label!r} input; the screen was:\n{tmux.screen()}")


def _fill(tmux, label: str, value: str) -> None:  # type: ignore[no-untyped-def]
    """Focus the input labelled `label`, replace its text, and wait until the screen shows it."""
    _focus_input(tmux, label)
    type_keys(tmux, "C-a", "C-k")
    type_text(tmux, value)
    tmux.wait_for(
        lambda s: re.search(rf"{re.escape(label)} +{re.escape(value)}\b", s) is not None, timeout=20
    )


# The blog's preset shrunk to CPU size, field by field in the Model form's order (top to bottom).
FORM_CPU_SIZE = (
    ("studio.name", "esperberto"),
    ("model.hidden_size", "32"),
    ("model.num_hidden_layers", "1"),
    ("model.num_attention_heads", "2"),
    ("model.intermediate_size", "64"),
    ("model.max_position_embeddings", "66"),
    ("data.block_size", "64"),
    ("train.per_device_train_batch_size", "8"),
    ("train.warmup_steps", "0"),
    ("train.max_steps", "8"),
    ("train.logging_steps", "2"),
    ("train.save_steps", "4"),
    ("studio.probe_every", "4"),
)


def _form_focused(screen: str) -> str | None:
    """The name on the Model form's help line (the line under its rule), which names the focused widget."""
    lines = screen.splitlines()
    for rule, line in itertools.pairwise(lines):
        if rule.startswith("─" * 20):
            return line.strip().split("  ", 1)[0] or None
    return None


def _form_focus(tmux, field: str, attempts: int = 60) -> None:  # type: ignore[no-untyped-def]
    """Tab forward until the Model form's help line names `field`.

    After each Tab the walk waits for the help line to change: under load it can lag a frame behind the
    focus, and reading it early would stop the walk one field too late."""
    shown = _form_focused(tmux.screen())
    for _ in range(attempts):
        if shown == field:
            return
        type_keys(tmux, "Tab", pause=0.1)
        deadline = time.monotonic() + 3.0
        before = shown
        while shown == before and time.monotonic() < deadline:
            time.sleep(0.1)
            shown = _form_focused(tmux.screen())
    pytest.fail(f"Tab never reached {field!r}; the screen was:\n{tmux.screen()}")


def _form_set(tmux, field: str, value: str) -> None:  # type: ignore[no-untyped-def]
    """Replace a Model form field's value by keys and wait until the form shows it."""
    _form_focus(tmux, field)
    type_keys(tmux, "C-a", "C-k")
    type_text(tmux, value)
    label = field.split(".", 1)[1]
    shown = re.compile(rf"\b{re.escape(label)} +{re.escape(value)}(?= |$)", re.MULTILINE)
    tmux.wait_for(lambda s: shown.search(s) is not None, timeout=20)


def _only_run(workspace: Path, timeout: float = 60) -> str:
    """The id of the workspace's one run, once its folder exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [p.name for p in (workspace / "runs").glob("*") if p.is_dir()]
        if found:
            assert len(found) == 1, found
            return found[0]
        time.sleep(0.2)
    pytest.fail(f"no run folder under {workspace / 'runs'} after {timeout:.0f} s")


def _shrink_the_blog_preset_in_the_form(tmux) -> None:  # type: ignore[no-untyped-def]
    """Model screen: preset esperberto-84m (arrow keys in its list), then every CPU-size field typed in."""
    type_keys(tmux, "3")
    tmux.wait_for(lambda s: re.search(r"hidden_size +128\b", s) is not None, timeout=90)  # tiny-cpu drafted
    _form_focus(tmux, "preset")
    type_keys(tmux, "Enter", pause=0.6)
    type_keys(tmux, "Up", pause=0.4)  # esperberto-84m is listed just above tiny-cpu
    type_keys(tmux, "Enter", pause=0.6)
    tmux.wait_for(lambda s: re.search(r"hidden_size +768\b", s) is not None, timeout=90)
    for field, value in FORM_CPU_SIZE:
        _form_set(tmux, field, value)
    tmux.wait_for("No problems", timeout=90)


KINDS = ("bytelevel-bpe", "wordpiece", "unigram", "sentencepiece-unigram", "sentencepiece-bpe")
CORPUS = "ws/corpora/demo-esperanto.txt"  # relative to the app's working folder (tmp_path)


def _choose_kind(tmux, kind: str) -> None:  # type: ignore[no-untyped-def]
    """With the vocab size focused: step back to the kind list, pick `kind` by arrow keys, check it."""
    type_keys(tmux, "BTab")
    for _ in range(4):
        shown = re.search(r"kind +([a-z-]+)", tmux.screen())
        current = shown.group(1) if shown else KINDS[0]
        if current == kind:
            return
        steps = KINDS.index(kind) - KINDS.index(current)
        type_keys(tmux, "Enter", pause=0.6)
        type_keys(tmux, *(["Down"] * steps if steps > 0 else ["Up"] * -steps), pause=0.4)
        type_keys(tmux, "Enter", pause=0.8)
    tmux.wait_for(lambda s: re.search(rf"kind +{kind}", s) is not None, timeout=10)


def _train_tokenizer_in_the_app(tmux, kind: str, vocab: int, sample: int, out: str) -> None:  # type: ignore[no-untyped-def]
    """Tokenizer screen, Train tab: corpus, kind (arrow keys in the list), vocab size, sample, output name."""
    type_keys(tmux, "2")
    tmux.wait_for("Studio · Tokenizer", timeout=30)
    type_keys(tmux, "t")  # the Train tab
    tmux.wait_for("min frequency", timeout=30)
    _fill(tmux, "corpus", CORPUS)
    _fill(tmux, "vocab size", str(vocab))
    if kind != KINDS[0]:
        _choose_kind(tmux, kind)
    _fill(tmux, "sample (lines)", str(sample))
    _fill(tmux, "output", out)
    screen = tmux.screen()
    assert re.search(rf"kind +{kind}", screen) and CORPUS in screen, screen
    type_keys(tmux, "Tab", "Tab", "Tab", "Tab", "Enter")  # past the three checkboxes to the Train button
    tmux.wait_for("Done:", timeout=120)
    type_keys(tmux, "i")  # back to the inspector: focus leaves the form, so number keys switch screens


def test_roberta_journey_like_the_blog(tmp_path: Path) -> None:
    """Demo corpus -> byte-level BPE (keys) -> esperberto-84m shrunk in the Model form (keys) -> train -> fill-mask probe on screen
    -> Runs shows completed -> final/ loads with pipeline("fill-mask")."""
    started = time.monotonic()
    workspace = tmp_path / "ws"
    tmux = start_app(str(workspace), width=120, height=40, cwd=tmp_path)
    try:
        tmux.wait_for("Studio · Corpus", timeout=60)
        tmux.wait_for("demo-esperanto", timeout=30)  # a fresh workspace opens on the demo corpus
        _train_tokenizer_in_the_app(tmux, "bytelevel-bpe", vocab=1000, sample=3000, out="bpe")
        tmux.wait_for(lambda s: ("<mask>" in s and "1,000" in s) or "1000" in s, timeout=30)

        _shrink_the_blog_preset_in_the_form(tmux)
        type_keys(tmux, "C-t")  # save configs/esperberto.yaml and start the run: the Train screen follows it
        tmux.wait_for(lambda s: "Studio · Train" in s and "esperberto" in s, timeout=60)
        saved = load_config(workspace / "configs" / "esperberto.yaml")  # what the form typed, saved
        assert saved.model.fields["hidden_size"] == 32 and saved.train["max_steps"] == 8, saved.to_dict()
        assert saved.studio.probe_every == 4 and saved.data.block_size == 64, saved.to_dict()
        run_id = _only_run(workspace)
        wait_first_probe(workspace / "runs" / run_id)
        screen = reveal_probes(tmux)
        assert "<mask>" in screen and "→" in screen, screen  # the masked sentence and its predictions
        run = wait_run_end(workspace, run_id)
        assert run["state"] == "completed", run
        type_keys(tmux, "5")
        tmux.wait_for(lambda s: "Studio · Runs" in s and run_id[:15] in s and "completed" in s, timeout=60)
        type_keys(tmux, "q")
        tmux.wait_exit(timeout=30)
    finally:
        tmux.kill()

    final = Path(run["final_dir"])
    assert "model.safetensors" in final_files(final)
    assert not {name for name in final_files(final) if name.endswith(".bin")}  # no pickles at all
    from transformers import AutoModelForMaskedLM, AutoTokenizer, pipeline

    model = AutoModelForMaskedLM.from_pretrained(final)
    assert model.config.model_type == "roberta" and model.config.hidden_size == 32
    fill = pipeline("fill-mask", model=model, tokenizer=AutoTokenizer.from_pretrained(final))
    predictions = fill("La suno <mask> hodiaŭ.")
    assert len(predictions) == 5 and all("token_str" in p for p in predictions)
    print(f"\nRoBERTa journey: {time.monotonic() - started:.1f} s wall")


REFORMER_BLOCK = 128  # prod(axial_pos_shape) of reformer-tiny


def _leakage(model, vocab_size: int, length: int) -> float:  # type: ignore[no-untyped-def]
    """The largest change of the logits at 0..t when every token after t is replaced (0 for a causal model)."""
    import torch

    generator = torch.Generator().manual_seed(3)
    ids = torch.randint(5, vocab_size, (1, length), generator=generator)
    worst = 0.0
    model.eval()
    with torch.no_grad():
        torch.manual_seed(0)  # LSH hashing draws random rotations: the same draw for both passes
        base = model(input_ids=ids).logits
        for t in (0, 17, length // 2, length - 2):
            altered = ids.clone()
            altered[0, t + 1 :] = torch.randint(5, vocab_size, (length - t - 1,), generator=generator)
            torch.manual_seed(0)
            logits = model(input_ids=altered).logits
            worst = max(worst, (logits[0, : t + 1] - base[0, : t + 1]).abs().max().item())
    return worst


@pytest.fixture(scope="module")
def reformer_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """SentencePiece unigram (keys, 80x24) -> reformer-tiny as masked and causal LM -> both trained, with the
    causal run's generation probe seen on screen; task -> its `studio runs --json` entry."""
    started = time.monotonic()
    tmp_path = tmp_path_factory.mktemp("reformer-journey")
    workspace = tmp_path / "ws"
    tmux = start_app(str(workspace), width=80, height=24, cwd=tmp_path)
    try:
        tmux.wait_for("Studio · Corpus", timeout=60)
        _train_tokenizer_in_the_app(tmux, "sentencepiece-unigram", vocab=800, sample=3000, out="spm")
        type_keys(tmux, "q")
        tmux.wait_exit(timeout=30)
    finally:
        tmux.kill()
    tokenizer = workspace / "tokenizers" / "spm"
    assert (tokenizer / "tokenizer.model").is_file(), sorted(p.name for p in tokenizer.iterdir())

    # Headless: configs for both tasks from the reformer-tiny preset, started together.
    corpus = workspace / "corpora" / "demo-esperanto.txt"
    small = (
        "train.per_device_train_batch_size=4",
        "train.max_steps=4",
        "train.logging_steps=2",
        "train.save_steps=1000",
        "train.eval_steps=1000",
        "train.warmup_steps=0",
        "studio.probe_every=2",
        "data.validation_split=0.02",
    )
    run_ids = {}
    for task in ("mlm", "clm"):
        config = tmp_path / f"reformer-{task}.yaml"
        made = studio(
            "config",
            "init",
            "--preset",
            "reformer-tiny",
            "--task",
            task,
            "--corpus",
            str(corpus),
            "--tokenizer",
            str(tokenizer),
            "--name",
            f"reformer-{task}",
            "--out",
            str(config),
            *(arg for item in small for arg in ("--set", item)),
        )
        assert made.returncode == 0 and "problem" not in made.stdout, made.stdout + made.stderr
        launched = studio("train", str(config), "--detach", "-w", str(workspace))
        assert launched.returncode == 0, launched.stderr
        run_ids[task] = launched.stdout.strip().splitlines()[-1]

    attach = start_app("attach", run_ids["clm"], "-w", str(workspace), width=80, height=24)
    try:
        attach.wait_for(lambda s: "Studio · Train" in s, timeout=60)
        wait_first_probe(workspace / "runs" / run_ids["clm"])
        screen = reveal_probes(attach)
        assert "generate at step" in screen, screen
    finally:
        attach.kill()
    runs = {task: wait_run_end(workspace, run_id) for task, run_id in run_ids.items()}
    assert all(r["state"] == "completed" for r in runs.values()), runs
    print(f"\nReformer journey (tokenizer to trained runs): {time.monotonic() - started:.1f} s wall")
    return runs


def test_reformer_journey_masked_and_causal(reformer_runs: dict[str, dict]) -> None:
    """Both Reformer runs completed with their kind of probe; both final/ load with the Auto classes; the
    causal one generates; a masked LM fails the leakage check (so the check is not vacuous)."""
    runs = reformer_runs
    kinds = {task: {p.kind for p in probes_of(Path(runs[task]["path"]))} for task in runs}
    assert kinds == {"mlm": {"fill-mask"}, "clm": {"generate"}}, kinds

    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

    masked = AutoModelForMaskedLM.from_pretrained(runs["mlm"]["final_dir"])
    causal = AutoModelForCausalLM.from_pretrained(runs["clm"]["final_dir"])
    assert masked.config.model_type == causal.config.model_type == "reformer"
    assert causal.config.is_decoder and not masked.config.is_decoder
    loaded = AutoTokenizer.from_pretrained(runs["clm"]["final_dir"])
    prompt = loaded("La suno", return_tensors="pt")
    generated = causal.generate(**prompt, max_new_tokens=5, do_sample=False)
    assert generated.shape[1] > prompt["input_ids"].shape[1]
    assert _leakage(masked, masked.config.vocab_size, REFORMER_BLOCK) > 1e-3  # the check is not vacuous


def test_trained_causal_reformer_does_not_see_the_future(reformer_runs: dict[str, dict]) -> None:
    """The trained causal Reformer's logits at 0..t do not change when every token after t is replaced."""
    from transformers import AutoModelForCausalLM

    causal = AutoModelForCausalLM.from_pretrained(reformer_runs["clm"]["final_dir"])
    assert _leakage(causal, causal.config.vocab_size, REFORMER_BLOCK) < 1e-4


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_quick_inspection_opens_and_answers_keys(
    tmp_path: Path, journey_corpus: Path, size: tuple[int, int]
) -> None:
    """`studio vocab DIR` and `studio corpus view PATH` open straight on their screen and answer keys."""
    tokenizer = tmp_path / "tok"
    trained = studio(
        "tokenizer", "train", "--corpus", str(journey_corpus), "--vocab-size", "500", "--out", str(tokenizer)
    )
    assert trained.returncode == 0, trained.stderr
    timings = {}

    vocab = start_app("vocab", str(tokenizer), "-w", str(tmp_path / "ws"), width=size[0], height=size[1])
    try:
        opened = time.monotonic()
        vocab.wait_for(lambda s: "Studio · Tokenizer" in s and "<mask>" in s, timeout=60)
        timings["vocab"] = time.monotonic() - opened
        type_keys(vocab, "/", pause=1.0)  # filter as you type (the filter box takes the focus first)
        type_text(vocab, "<ma")
        vocab.wait_for(lambda s: "<mask>" in s and "<pad>" not in s, timeout=20)
        type_keys(vocab, "Tab", "q")  # Escape does not leave the filter box; Tab does
        vocab.wait_exit(timeout=30)
    finally:
        vocab.kill()

    view = start_app(
        "corpus", "view", str(journey_corpus), "-w", str(tmp_path / "ws"), width=size[0], height=size[1]
    )
    try:
        opened = time.monotonic()
        view.wait_for(lambda s: "Studio · Corpus" in s and "demo-esperanto" in s, timeout=60)
        timings["corpus"] = time.monotonic() - opened
        type_keys(view, "g", pause=1.0)  # go to a line
        type_text(view, "2500")
        type_keys(view, "Enter")
        view.wait_for("2,500", timeout=20)
        type_keys(view, "q")
        view.wait_exit(timeout=30)
    finally:
        view.kill()
    print(f"\nfirst frame ({size[0]}x{size[1]}): " + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()))
