"""Run settings as one document: defaults, a ``--config`` TOML file, ``--set key=value`` overrides,
and the effective configuration written beside the results.

A command's settings are nested tables (``scenario``, ``train`` with ``train.td3``, ``reproduce``
with ``reproduce.vae``, ``transfer``); ``td3.*`` and ``vae.*`` are short for ``train.td3.*`` and
``reproduce.vae.*``. Keys are checked against the command's defaults, so a typo is an error that
names the key, the allowed keys and the closest one. Values are TOML literals (``5e-4``, ``true``,
``[48, 24]``, ``"softmax"``); a bare word (``softmax``, ``all``) is read as a string, and ``none``
stands for "not set" (``None``) where a setting allows it. Keys and value types are checked
override by override; the objects are built (and so validated) once all overrides are in, and a
bad value is reported with the overrides and the field it breaks.
"""
from __future__ import annotations

import copy
import dataclasses
import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pyslice.base.toml_writer import NONE, plain, toml_text
from pyslice.base.validation import check_int
from pyslice.learn.td3 import TD3Config
from pyslice.learn.train import TrainConfig
from pyslice.sim.scenario import Scenario
from pyslice.study.config import ReproduceConfig, config_from_dict, settings_document

__all__ = ["ALIASES", "Settings", "apply_overrides", "load_config_file", "parse_override", "parse_value",
           "reproduce_settings", "settings_toml", "train_settings", "transfer_settings"]

#: Short section names: ``td3.actor_lr`` is ``train.td3.actor_lr``.
ALIASES = {"td3": ("train", "td3"), "vae": ("reproduce", "vae")}
_BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-.:/]*")


def parse_value(text: str) -> Any:
    """A ``--set`` value: a TOML literal, else a bare word as a string (``none`` → None)."""
    text = text.strip()
    if text == NONE:
        return None
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        if _BARE_WORD.fullmatch(text):
            return text
        raise ValueError(f"cannot read {text!r} as a value: use a TOML literal (5e-4, true, [48, 24], "
                         f"\"text\") or a bare word") from None


def parse_override(item: str) -> tuple[tuple[str, ...], Any]:
    """``section.key=value`` → (key path, value)."""
    if "=" not in item:
        raise ValueError(f"--set expects section.key=value, got {item!r}")
    key, _, text = item.partition("=")
    path = tuple(part.strip() for part in key.strip().split("."))
    if len(path) < 2 or not all(path):
        raise ValueError(f"--set expects section.key=value, got {item!r}")
    return path, parse_value(text)


def _expand(path: tuple[str, ...]) -> tuple[str, ...]:
    return (*ALIASES[path[0]], *path[1:]) if path[0] in ALIASES else path


def _known(doc: Mapping[str, Any], path: tuple[str, ...], shown: str) -> tuple[Any, str]:
    """Walk ``doc`` along ``path`` (``shown``: the key as the user wrote it, perhaps with an alias);
    an unknown key raises ValueError with the allowed keys and the closest one."""
    typed = shown.split(".")
    offset = len(path) - len(typed)  # an alias stands for the first `offset + 1` parts
    node: Any = doc
    for depth, key in enumerate(path):
        where = ".".join(path[:depth]) or "the settings"
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise ValueError(f"unknown key {shown!r}: {where} is a list of {len(node)} entries "
                                 f"(index 0..{len(node) - 1})")
            node = node[int(key)]
            continue
        if not isinstance(node, dict) or key not in node:
            allowed = sorted(node) if isinstance(node, dict) else []
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean {'.'.join((*typed[:max(depth - offset, 0)], close[0]))!r}?" if close else ""
            raise ValueError(f"unknown key {shown!r}: {where} has keys {', '.join(allowed)}{hint}")
        node = node[key]
    return node, ".".join(path)


def _coerce(shown: str, value: Any, current: Any) -> Any:
    """``value`` for a setting whose current value is ``current`` (its type is the setting's)."""
    if value is None or value == NONE:
        if current is not None:
            raise ValueError(f"{shown} cannot be none (its value is {current!r})")
        return None
    if current is None:
        return value
    if isinstance(current, bool):
        ok = isinstance(value, bool)
    elif isinstance(current, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(current, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(current, (list, tuple)):
        ok = isinstance(value, list)
    elif isinstance(current, dict):
        ok = False
    else:
        ok = isinstance(value, type(current))
    if not ok:
        kind = type(current).__name__
        raise ValueError(f"{shown} must be {'an' if kind[0] in 'aeiou' else 'a'} {kind} like {current!r}, got {value!r}")
    return value


def _set(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node: Any = doc
    for key in path[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(path[-1])] = value
    else:
        node[path[-1]] = value


class Settings:
    """A command's settings document with the builder that turns it into objects.

    Args:
        doc: the defaults, nested dicts of plain values (every settable key present).
        build: ``doc -> objects``; raises ValueError/TypeError for a bad value.
        loose: key paths (expanded) whose type is not fixed (``none`` or several types; the builder
            checks them).
    """

    def __init__(self, doc: dict[str, Any], build: Any, loose: Iterable[tuple[str, ...]] = ()) -> None:
        self.doc = copy.deepcopy(doc)
        self._build = build
        self.loose = {tuple(p) for p in loose}
        self.objects = self._checked("the defaults")

    def _checked(self, what: str) -> Any:
        try:
            return self._build(self.doc)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{what}: {exc}") from None

    def update(self, assignments: Iterable[tuple[tuple[str, ...], Any, str]], what: str) -> Any:
        """Set keys ``(path, value, source)``, each checked against the document at once (errors
        name its ``source``), then rebuild the objects once (errors name ``what``: some settings
        only make sense together). Returns the objects."""
        assignments = list(assignments)
        for path, value, source in assignments:
            self._assign(tuple(path), value, source)
        if assignments:
            self.objects = self._checked(what)
        return self.objects

    def _assign(self, path: tuple[str, ...], value: Any, source: str) -> None:
        shown = ".".join(path)
        full = _expand(path)
        try:
            current, _ = _known(self.doc, full, shown)
            if isinstance(current, dict):
                raise ValueError(f"{shown} is a table; set one of its keys ({', '.join(sorted(current))})")
            if full in self.loose:
                value = None if value == NONE else value
            else:
                value = _coerce(shown, value, current)
            _set(self.doc, full, value)
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from None

    def merge_file(self, path: str | Path) -> None:
        """Apply a ``--config`` TOML file (any subset of the document's keys; the file written as
        ``config.toml`` by a run reads back to the same settings)."""
        data = load_config_file(path)
        source = f"--config {path}"

        def walk(table: Mapping[str, Any], prefix: tuple[str, ...]) -> None:
            for key, value in table.items():
                here = (*prefix, key)
                try:
                    current, _ = _known(self.doc, _expand(here), ".".join(here))
                except ValueError as exc:
                    raise ValueError(f"{source}: {exc}") from None
                if isinstance(value, dict) and isinstance(current, dict):
                    walk(value, here)
                else:
                    self._assign(here, value, source)

        walk(data, ())
        self.objects = self._checked(source)

    def toml(self) -> str:
        """The effective settings as TOML (``none`` for unset values)."""
        return settings_toml(self.doc)


def apply_overrides(settings: Settings, items: Iterable[str]) -> Settings:
    """Apply ``--set`` items in order (later ones win): each key and value type is checked at
    once, the objects are built (validated) once all are in, since some settings go together
    (``td3.actor_head`` with ``td3.exploration``)."""
    items = list(items)
    settings.update([(*parse_override(item), f"--set {item}") for item in items],
                    "--set " + " --set ".join(items))
    return settings


def load_config_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--config must be an existing TOML file, got {str(path)!r}")
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"--config {path}: not valid TOML ({exc})") from None


def settings_toml(doc: Mapping[str, Any]) -> str:
    """TOML text of a settings document (tables after plain keys; None written as ``none``)."""
    return toml_text(plain(doc, NONE))


# ---- the commands' documents ---------------------------------------------------------------------

def train_settings(scenario: Scenario, train: TrainConfig | None = None) -> Settings:
    """``pyslice train``: ``scenario`` and ``train`` (``td3``). Objects: {"scenario", "train"}."""
    train = TrainConfig() if train is None else train
    doc = {"scenario": scenario.to_dict(), "train": train.to_dict()}
    return Settings(doc, lambda d: {"scenario": Scenario.from_dict(d["scenario"]),
                                    "train": TrainConfig.from_dict(d["train"])})


#: ReproduceConfig fields of more than one type (checked by ReproduceConfig itself).
_REPRODUCE_LOOSE = ("targets", "sweep_targets", "target_samples", "tl_exploration_noise")


def reproduce_settings(scenario: Scenario, cfg: ReproduceConfig) -> Settings:
    """``pyslice reproduce`` / ``sweep``: ``scenario``, ``train`` (``td3``) and ``reproduce``
    (``vae``). Objects: {"scenario", "reproduce"} (the ReproduceConfig holds the train settings)."""
    doc = settings_document(scenario, cfg)

    def build(d: dict[str, Any]) -> dict[str, Any]:
        sc = Scenario.from_dict(d["scenario"])
        rc = config_from_dict({**d["reproduce"], "train": d["train"]})
        n_cells = sc.n_cells
        for name in ("targets", "sweep_targets"):
            cells = getattr(rc, name)
            if cells and not isinstance(cells, str) and max(cells) >= n_cells:
                raise ValueError(f"reproduce.{name} must be cells in [0, {n_cells - 1}], got {list(cells)}")
        return {"scenario": sc, "reproduce": rc}

    return Settings(doc, build, loose=[("reproduce", k) for k in _REPRODUCE_LOOSE])


#: ``pyslice transfer`` settings and their defaults (``source``: a cell or ``"auto"``).
TRANSFER_DEFAULTS = {"target": 0, "source": "auto", "strategy": "integrated", "measure": "vae-kl-equal-sigma",
                     "steps": 4000, "eval_steps": 250, "exploration_noise": None, "instance_rewards": "source",
                     "include_scratch": True}
_TRANSFER_LOOSE = ("source", "exploration_noise")


def transfer_settings(td3: TD3Config, **given: Any) -> Settings:
    """``pyslice transfer``: ``transfer`` (the experiment) and ``td3`` (the new cell's learners,
    TL and scratch alike; default: the run's own). Objects: {"transfer": dict, "td3": TD3Config}."""
    doc = {"transfer": {**TRANSFER_DEFAULTS, **given}, "train": {"td3": dataclasses.asdict(td3)}}

    def build(d: dict[str, Any]) -> dict[str, Any]:
        t = d["transfer"]
        for key in ("target", "steps", "eval_steps"):
            check_int(f"transfer.{key}", t[key], 0)
        if t["source"] != "auto":
            check_int("transfer.source ('auto' or a cell index)", t["source"], 0)
        noise = t["exploration_noise"]
        if noise is not None and (isinstance(noise, bool) or not isinstance(noise, (int, float)) or not noise >= 0):
            raise ValueError(f"transfer.exploration_noise must be none or a number >= 0, got {noise!r}")
        td3_d = {k: tuple(v) if isinstance(v, list) else v for k, v in d["train"]["td3"].items()}
        return {"transfer": dict(t), "td3": TD3Config(**td3_d)}

    return Settings(doc, build, loose=[("transfer", k) for k in _TRANSFER_LOOSE])
