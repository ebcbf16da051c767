"""One check of a run config from a file, as `studio model check` and the Model screen report it.

`load_for_check` reads the YAML like `load_config`, except that an unknown architecture or task
is a problem (with its fix) instead of an error, so `--fix` can repair it. `checkup` validates,
optionally applies every fix, and estimates the cost of what is valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from studio.config import ARCHS, TASKS, ConfigError, RunConfig, load_config, parse_override
from studio.model.problems import Problem, fixes_of


@dataclass
class CheckReport:
    """What a check found: problems, the fixes applied, estimates and the HF config when valid."""

    config: RunConfig | None
    problems: list[Problem]
    applied: list[str] = field(default_factory=list)
    estimates: dict[str, Any] | None = None
    hf_config: dict[str, Any] | None = None
    measured: dict[str, Any] | None = None

    @property
    def valid(self) -> bool:
        return not self.problems and self.config is not None

    def to_dict(self) -> dict[str, Any]:
        estimates = self.estimates or {}
        return {
            "valid": self.valid,
            "problems": [p.to_dict() for p in self.problems],
            "applied": list(self.applied),
            "params": estimates.get("params"),
            "flops_per_token": estimates.get("flops_per_token"),
            "memory_bytes": estimates.get("memory_bytes"),
            "estimates": self.estimates,
            "measured": self.measured,
            "hf_config": self.hf_config,
        }


def load_for_check(
    path: str | Path, overrides: Sequence[str] = (), fix: bool = False
) -> tuple[RunConfig | None, list[Problem]]:
    """The config at `path` with overrides; an unknown arch or task is returned as a problem."""
    try:
        return load_config(path, overrides), []
    except ConfigError as error:
        original = error
    raw = _raw_with_overrides(path, overrides)
    model = raw.get("model") if raw is not None else None
    if raw is None or not isinstance(model, dict):
        raise original
    from studio.model.validate import _unknown_choice

    problems = []
    for name, choices, default in (("arch", ARCHS, "roberta"), ("task", TASKS, "mlm")):
        value = model.get(name, default)
        if value not in choices:
            problem = _unknown_choice(f"model.{name}", value, choices, default)
            problems.append(problem)
            if fix and problem.fix:
                model[name] = problem.fix.partition("=")[2]
    if not problems:
        raise original
    if not fix:
        return None, problems
    return RunConfig.from_dict(raw, source=str(path)), [
        Problem(p.field, p.message + " (fixed)", p.fix) for p in problems
    ]


def _raw_with_overrides(path: str | Path, overrides: Sequence[str]) -> dict[str, Any] | None:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(raw, dict):
        return None
    for item in overrides:
        section, key, value = parse_override(item)
        if not isinstance(raw.get(section), dict):
            raw[section] = {}
        raw[section][key] = value
    return raw


def checkup(
    config: RunConfig | None,
    early_problems: Sequence[Problem] = (),
    fix: bool = False,
    measure: bool = False,
    tokenizer_candidates: Sequence[str | Path] = (),
) -> CheckReport:
    """Validate (and with `fix`, repair) a config, then estimate it when its sizes are sound."""
    from studio.errors import StudioError
    from studio.model.validate import apply_fixes, check

    applied = [p.fix for p in early_problems if p.fix and p.message.endswith("(fixed)")]
    if config is None:
        return CheckReport(None, list(early_problems))
    problems = check(config, tokenizer_candidates)
    if fix:
        for _ in range(6):  # a fix can uncover another (a new block size, a new position count)
            fixes = [f for f in fixes_of(problems) if f not in applied]
            if not fixes:
                break
            config = apply_fixes(config, fixes)
            applied.extend(fixes)
            problems = check(config, tokenizer_candidates)
    report = CheckReport(config, problems, applied)
    if any(p.field.startswith("model.") for p in problems):
        return report
    from studio.model.build import build_hf_config
    from studio.model.estimate import count_corpus_tokens, estimate

    try:
        corpus_tokens = None
        if not any(p.field in ("data.corpus", "data.tokenizer") for p in problems):
            corpus_tokens = count_corpus_tokens(config.data.corpus, config.data.tokenizer)
        measured = None
        if measure and not problems:
            from studio.model.measure import measure_steps

            measured = measure_steps(config).to_dict()
            report.measured = measured
        result = estimate(config, corpus_tokens, measured["tokens_per_second"] if measured else None)
        report.estimates = result.to_dict()
        report.hf_config = build_hf_config(config).to_dict()
    except StudioError as exc:
        report.problems.append(Problem("model", exc.message))
    return report
