"""The fuzz harness's strategies and per-case checks, shared by tests/test_fuzz.py (a fixed number of
derandomized cases in CI) and tools/fuzz.py (as many cases as asked, each target in a subprocess).

Targets: scenario dicts and TOML texts mutated at and past every limit and type; step inputs
(shares of every bad kind) to Simulator and SimulatorBatch; damaged checkpoints for ``set_state``;
and rule-based sequences of every stepping and state call. Each case ends in a *refusal* (a
ValueError/TypeError whose message names a field or argument, the object's state unchanged and
still usable) or a *finite* result of the documented shapes; any other end fails the case.
"""
from __future__ import annotations

import ast
import copy
import dataclasses
import inspect
import math
import pickle
import re
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from pyslice import Scenario, Simulator, SimulatorBatch
from pyslice.base.toml_writer import toml_lines
from pyslice.sim import scenario as scenario_module
from pyslice.sim.scenario import (LayoutConfig, RadioConfig, RequirementProfile, RequirementsConfig, SliceConfig,
                                  TrafficConfig)
from pyslice.sim.simulator import BATCH_FIELDS, BUILTIN_POLICIES, CORE_OUTPUTS, SHARE_TOLERANCE, StepResult

REFUSED, FINITE, ACCEPTED = "refused", "finite", "accepted"  # ACCEPTED: a valid scenario too big to step
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# --------------------------------------------------------------------------------------------------
# Outcome records and case notes (tools/fuzz.py hooks in; the tests print nothing).
# --------------------------------------------------------------------------------------------------

OUTCOMES: Counter[tuple[str, str]] = Counter()
CASE_HOOKS: list[Callable[[str, bool], None]] = []


def record(target: str, outcome: str) -> str:
    """Count one case's outcome for ``target``; returns ``outcome``."""
    OUTCOMES[target, outcome] += 1
    return outcome


def note_case(text: str, new_program: bool = False) -> None:
    """Tell the hooks which case runs next (a rule of a program, or a whole case)."""
    for hook in CASE_HOOKS:
        hook(text, new_program)


@contextmanager
def quiet() -> Iterator[None]:
    """Silence the warnings some accepted inputs raise (complex shares lose their imaginary part)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# --------------------------------------------------------------------------------------------------
# The checks every case ends in.
# --------------------------------------------------------------------------------------------------

SECTIONS: dict[str, type] = {"layout": LayoutConfig, "radio": RadioConfig, "traffic": TrafficConfig}
CONFIGS = (*SECTIONS.values(), SliceConfig, RequirementProfile, RequirementsConfig, Scenario)
#: Words an error message may name: every scenario key, the arguments of the stepping and state APIs.
NAMES: frozenset[str] = frozenset(
    {f.name for cls in CONFIGS for f in dataclasses.fields(cls)}
    | {"scenario", "shares", "state", "states", "seed", "seeds", "policy", "policies", "replica", "threads",
       "shared_world", "simulator", "follower", "output"})
_WORD = re.compile(r"[A-Za-z_]+")


def check_refusal(exc: BaseException) -> None:
    """A refusal's message (with its notes) is non-empty and names a key or an argument."""
    text = " ".join([str(exc), *getattr(exc, "__notes__", ())])
    assert text.strip(), f"{type(exc).__name__} without a message"
    assert NAMES & set(_WORD.findall(text)), f"{type(exc).__name__} names nothing: {text!r}"


def check_array(name: str, arr: object, shape: tuple[int, ...], dtype: str) -> None:
    """``arr`` is an ndarray of ``shape`` and ``dtype``, all finite (``sinr_db`` may be -inf: no signal)."""
    assert isinstance(arr, np.ndarray), f"{name} is a {type(arr).__name__}"
    assert arr.shape == shape, f"{name} has shape {arr.shape}, documented {shape}"
    assert arr.dtype == np.dtype(dtype), f"{name} has dtype {arr.dtype}, documented {dtype}"
    values = arr[arr != -np.inf] if name == "sinr_db" else arr
    assert np.all(np.isfinite(values)), f"{name} is not finite: {arr}"


def extents(k: int, n: int, u: int) -> dict[str, tuple[int, ...]]:
    """The documented shape of each output extent."""
    return {"cell,slice": (k, n), "cell": (k,), "slice": (n,), "ue": (u,)}


def check_result(result: StepResult, k: int, n: int, u: int) -> str:
    """A step's KPIs: every array of its documented shape and dtype and finite; counts are ints."""
    dims = extents(k, n, u)
    for name, (extent, dtype) in CORE_OUTPUTS.items():
        check_array(name, getattr(result, name), dims[extent], dtype)
    assert isinstance(result.iterations, int) and result.iterations >= 0, result.iterations
    assert isinstance(result.time, int) and result.time >= 1, result.time
    check_simplex(result.shares)
    return FINITE


def check_batch_out(out: dict[str, np.ndarray], r: int, k: int, n: int) -> str:
    """A batch step's outputs: the documented fields, each [R, ...] and finite."""
    assert tuple(out) == BATCH_FIELDS, tuple(out)
    dims = extents(k, n, 0)
    for name in BATCH_FIELDS[:-1]:
        extent, dtype = CORE_OUTPUTS[name]
        check_array(name, out[name], (r, *dims[extent]), dtype)
    check_array("iterations", out["iterations"], (r,), "int32")
    check_simplex(out["shares"])
    return FINITE


def check_simplex(shares: np.ndarray) -> None:
    """Applied shares are rows on the simplex."""
    assert np.all(shares >= 0.0), shares
    assert np.all(np.abs(shares.sum(axis=-1) - 1.0) <= SHARE_TOLERANCE * 1.01), shares.sum(axis=-1)


def refused_unchanged(call: Callable[[], Any], snapshot: Callable[[], Any]) -> tuple[str, Any]:
    """Run ``call``: (REFUSED, None) after a checked refusal that left ``snapshot()`` unchanged,
    else (FINITE, its result) for the caller to check."""
    before = snapshot()
    try:
        with quiet():
            value = call()
    except (ValueError, TypeError) as exc:
        check_refusal(exc)
        assert snapshot() == before, "a refused call changed the state"
        return REFUSED, None
    return FINITE, value


# --------------------------------------------------------------------------------------------------
# Small scenarios.
# --------------------------------------------------------------------------------------------------


def with_ues(sc: Scenario, ues: int) -> Scenario:
    """``sc`` with ``ues`` UEs per (cell, slice)."""
    return dataclasses.replace(sc, traffic=dataclasses.replace(sc.traffic, max_ues_per_slice=ues))


def tiny_dict() -> dict[str, Any]:
    """The smallest scenario: one site (3 cells), 2 slices, 1 UE per (cell, slice)."""
    data = with_ues(Scenario.paper(), 1).to_dict()
    data["layout"].update(kind="sites", sites_m=[[0.0, 0.0]])
    data["slices"] = data["slices"][:2]
    for profile in data["requirements"]["profiles"]:
        profile["throughput_bps"], profile["delay_s"] = profile["throughput_bps"][:2], profile["delay_s"][:2]
    return data


@cache
def scenarios() -> dict[str, Scenario]:
    """The scenarios simulators are built of: tiny, the paper's layout with 1 UE, a 3-D one."""
    three_d = Scenario.from_toml(EXAMPLES / "3gpp_38901_uma.toml")
    three_d = dataclasses.replace(with_ues(three_d, 1), layout=dataclasses.replace(three_d.layout, kind="paper",
                                                                                     rings=1))
    return {"tiny": Scenario.from_dict(tiny_dict()), "paper-1ue": with_ues(Scenario.paper(), 1),
            "3d-1ue": three_d}


def base_dicts() -> dict[str, dict[str, Any]]:
    """The scenario dicts mutations start from."""
    return {name: sc.to_dict() for name, sc in scenarios().items()}


def simulable(sc: Scenario) -> bool:
    """Small enough to step in a fuzz case, with a generated mask (a trace file would be read)."""
    ues = sc.n_cells * sc.n_slices * sc.traffic.max_ues_per_slice
    return ues <= 600 and sc.n_cells <= 60 and sc.traffic.mask == TrafficConfig.GENERATED


# --------------------------------------------------------------------------------------------------
# Scenario values: landmarks of the schema, wrong types, mutations.
# --------------------------------------------------------------------------------------------------


@cache
def landmarks() -> tuple[float, ...]:
    """Every numeric literal of the scenario module (its range bounds among them), its neighbouring
    floats and, for integers, the integers either side: the values at and just past every limit."""
    tree = ast.parse(inspect.getsource(scenario_module))
    literals: set[float] = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
                             and isinstance(n.value, (int, float)) and not isinstance(n.value, bool)}
    values: set[float] = set()
    for x in literals | {-x for x in literals}:
        values |= {x, math.nextafter(x, math.inf), math.nextafter(x, -math.inf)}
        if isinstance(x, int):
            values |= {x - 1, x + 1}
    return tuple(sorted(values, key=lambda v: (float(v), type(v).__name__)))


SPECIAL_NUMBERS = (math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308, 2**63, 2**64, -(2**63) - 1,
                   10**400, -(10**400))
ODD_TEXT = ("", " ", "\x00", "\ud800", "a\nb", '"', "\\", "é", "\u2028", "generated\x00", "x" * 300)
WRONG_VALUES: tuple[Any, ...] = (None, "", "x", "1.0", "nan", True, False, [], [1.0], [[0.0, 0.0]], {}, {"a": 1},
                {"kind": "paper", "rings": [1]}, [None], [[1.0, 2.0, 3.0]])


@cache
def option_strings() -> tuple[str, ...]:
    """Every allowed string of the schema (kinds, models, roaming...) and the mask keyword."""
    found = {TrafficConfig.GENERATED}
    for cls in CONFIGS:
        for value in vars(cls).values():
            if isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
                found |= set(value)
    return tuple(sorted(found))


def numbers() -> st.SearchStrategy[Any]:
    """Numbers at and past the schema's limits, specials (NaN, inf, huge ints) and any float or int."""
    return st.one_of(st.sampled_from(landmarks()), st.sampled_from(SPECIAL_NUMBERS), st.floats(),
                     st.integers(-(2**70), 2**70))


def wrong() -> st.SearchStrategy[Any]:
    """Values of the wrong type for most fields."""
    return st.sampled_from(WRONG_VALUES)


def value_for(annotation: str) -> st.SearchStrategy[Any]:
    """Values for a field of this annotation: mostly of its type (at the limits), some not."""
    ints = st.one_of(st.sampled_from([v for v in landmarks() if isinstance(v, int)]), st.integers(-3, 20))
    by_type = {
        "float": numbers(),
        "int": st.one_of(ints, numbers()),
        "bool": st.booleans(),
        "str": st.one_of(st.sampled_from(option_strings()), st.text(max_size=6), st.sampled_from(ODD_TEXT)),
        "tuple[float, ...]": st.lists(numbers(), max_size=5),
        "tuple[int, ...]": st.lists(st.one_of(ints, numbers()), max_size=4),
        "tuple[tuple[float, float], ...]": st.lists(st.lists(numbers(), min_size=1, max_size=3), max_size=4),
    }
    typed = by_type.get(annotation, st.nothing())
    return st.one_of(typed, typed, wrong(), numbers())


class Mutation(NamedTuple):
    """One change to a scenario dict: ``op`` at ``path`` (keys and list indices) with ``value``."""
    op: str
    path: tuple[Any, ...]
    value: Any = None


def field_paths() -> list[tuple[tuple[Any, ...], str]]:
    """Every key of the scenario dict with its annotation (slice/profile index 0..3, taken modulo)."""
    paths: list[tuple[tuple[Any, ...], str]] = [(("name",), "str")]
    for section, cls in SECTIONS.items():
        paths += [((section, f.name), str(f.type)) for f in dataclasses.fields(cls)]
    paths += [(("slices", i, f.name), str(f.type)) for i in range(4) for f in dataclasses.fields(SliceConfig)]
    paths += [(("requirements", "site_profile"), "tuple[int, ...]")]
    paths += [(("requirements", "profiles", j, key), "tuple[float, ...]") for j in range(2)
              for key in ("throughput_bps", "delay_s")]
    return paths


TABLE_PATHS: tuple[tuple[Any, ...], ...] = ((), ("layout",), ("radio",), ("traffic",), ("slices", 0), ("slices", 3),
                                            ("requirements",), ("requirements", "profiles", 1))
UNKNOWN_KEYS = st.one_of(st.sampled_from(["isd", "rings_", "Name", "slice", "layouts", "mask_periods"]),
                         st.text(min_size=1, max_size=6), st.sampled_from([0, None, 1.5]))


def set_field(path_annotation: tuple[tuple[Any, ...], str]) -> st.SearchStrategy[Mutation]:
    """Mutations setting the field at ``path`` to values for its annotation."""
    path, annotation = path_annotation
    return value_for(annotation).map(lambda value: Mutation("set", path, value))


def mutations() -> st.SearchStrategy[Mutation]:
    """One mutation: a field set to a value, a key deleted, an unknown key added, the slice count
    changed (with or without matching requirements), odd or duplicate names, a section replaced."""
    sets = st.sampled_from(field_paths()).flatmap(set_field)
    deletes = st.sampled_from([p for p, _ in field_paths()] + [(s,) for s in ("layout", "radio", "traffic", "slices",
                                                                              "requirements")]
                              ).map(lambda p: Mutation("delete", p))
    unknown = st.tuples(st.sampled_from(TABLE_PATHS), UNKNOWN_KEYS, numbers()).map(
        lambda t: Mutation("set", (*t[0], t[1]), t[2]))
    counts = st.tuples(st.sampled_from([0, 1, 3, 16, 17]), st.booleans()).map(
        lambda t: Mutation("slice_count", (), t))
    sections = st.tuples(st.sampled_from(["layout", "radio", "traffic", "slices", "requirements"]),
                         wrong()).map(lambda t: Mutation("set", (t[0],), t[1]))
    renames = st.tuples(st.sampled_from([("name",), ("slices", 0, "name"), ("slices", 1, "name"), ("traffic", "mask")]),
                        st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=4))).map(lambda t: Mutation("set", *t))
    return st.one_of(sets, sets, sets, deletes, unknown, counts, sections, renames,
                     st.just(Mutation("duplicate_name", ())))


def parent_of(data: Any, path: tuple[Any, ...]) -> tuple[Any, Any] | None:
    """The container holding ``path``'s last key and that key (list indices modulo the length), or
    None where an earlier mutation left no such container."""
    node = data
    for depth, key in enumerate(path):
        if isinstance(node, list) and isinstance(key, int) and node:
            key %= len(node)
        elif not isinstance(node, dict):
            return None
        if depth == len(path) - 1:
            return node, key
        if isinstance(node, dict) and key not in node:
            return None
        node = node[key]
    return None


def resize_slices(data: dict[str, Any], count: int, match: bool) -> None:
    """``count`` slices (copies of the first, renamed), the profiles resized too when ``match``."""
    slices = data.get("slices")
    if not isinstance(slices, list) or not slices or not isinstance(slices[0], dict):
        return
    data["slices"] = [dict(slices[i % len(slices)], name=f"s{i}") for i in range(count)]
    requirements = data.get("requirements")
    profiles = requirements.get("profiles") if match and isinstance(requirements, dict) else None
    for profile in profiles if isinstance(profiles, list) else []:
        for key in ("throughput_bps", "delay_s"):
            if isinstance(profile, dict) and isinstance(profile.get(key), list) and profile[key]:
                profile[key] = [profile[key][i % len(profile[key])] for i in range(count)]


def apply_mutation(data: dict[str, Any], m: Mutation) -> Any:
    """``data`` with ``m`` applied in place (where its path still exists); returns the new root."""
    if m.op == "slice_count":
        resize_slices(data, *m.value)
    elif m.op == "duplicate_name":
        slices = data.get("slices")
        if isinstance(slices, list) and len(slices) > 1 and isinstance(slices[1], dict) and isinstance(slices[0],
                                                                                                       dict):
            slices[1]["name"] = slices[0].get("name")
    elif (found := parent_of(data, m.path)) is not None:
        node, key = found
        if m.op == "delete":
            if isinstance(node, dict):
                node.pop(key, None)
            else:
                del node[key]
        elif isinstance(node, dict) or isinstance(key, int):
            node[key] = copy.deepcopy(m.value)
    return data


def accepts(data: Any) -> bool:
    """Whether ``Scenario.from_dict`` accepts ``data``."""
    try:
        Scenario.from_dict(data)
    except (ValueError, TypeError):
        return False
    return True


class ScenarioCase(NamedTuple):
    """A base scenario dict and the mutations applied to it; with ``valid_only`` a mutation the
    scenario refuses is skipped, so that many fields end at their limits in a valid scenario."""
    base: str
    mutations: tuple[Mutation, ...]
    valid_only: bool = False

    def build(self) -> Any:
        data = copy.deepcopy(base_dicts()[self.base])
        for m in self.mutations:
            trial = apply_mutation(copy.deepcopy(data), m)
            if not self.valid_only or accepts(trial):
                data = trial
        return data


def scenario_cases() -> st.SearchStrategy[ScenarioCase]:
    """A base dict with 1-3 mutations, or up to 12 valid ones; now and then the whole root replaced
    by a wrong value."""
    bases = st.sampled_from(sorted(base_dicts()))
    cases = st.builds(ScenarioCase, bases, st.lists(mutations(), min_size=1, max_size=3).map(tuple), st.just(False))
    valid = st.builds(ScenarioCase, bases, st.lists(mutations(), min_size=1, max_size=12).map(tuple), st.just(True))
    roots = wrong().map(lambda v: ScenarioCase("tiny", (Mutation("root", (), v),)))
    return st.one_of(cases, cases, valid, valid, roots)


def build_case(case: ScenarioCase) -> Any:
    """The dict (or the wrong value) a case gives ``Scenario.from_dict``."""
    if case.mutations and case.mutations[0].op == "root":
        return copy.deepcopy(case.mutations[0].value)
    return case.build()


def check_scenario(load: Callable[[], Scenario]) -> str:
    """``load()`` refuses cleanly, or its scenario survives dict and TOML round trips and, when
    small enough, a Simulator refuses it cleanly or steps with every policy to finite KPIs."""
    try:
        sc = load()
    except (ValueError, TypeError) as exc:
        check_refusal(exc)
        return REFUSED
    assert Scenario.from_dict(sc.to_dict()) == sc, "dict round trip changed the scenario"
    saved = scratch_dir() / "round_trip.toml"
    sc.to_toml(saved)
    expected = Scenario.from_dict(sc.to_dict(), base_dir=saved.parent)  # a relative mask resolves there
    assert Scenario.from_toml(saved) == expected, "TOML round trip changed the scenario"
    if not simulable(sc):
        return ACCEPTED
    try:
        sim = Simulator(sc, seed=1)
    except (ValueError, TypeError) as exc:  # what only the core checks (a layout too sparse to index)
        check_refusal(exc)
        return REFUSED
    k, n, u = sim.n_cells, sim.n_slices, sim.n_ues
    for policy in BUILTIN_POLICIES:
        check_result(sim.step_policy(policy), k, n, u)
    return check_result(sim.step(np.full((k, n), 1.0 / n)), k, n, u)


def check_scenario_case(case: ScenarioCase) -> str:
    """Target ``scenario_dict``."""
    note_case(repr(case), True)
    return record("scenario_dict", check_scenario(lambda: Scenario.from_dict(build_case(case))))


# --------------------------------------------------------------------------------------------------
# TOML texts.
# --------------------------------------------------------------------------------------------------

TOML_VALUES = ("nan", "inf", "-inf", "+inf", "1e400", "-0.0", '"x"', '""', "[]", "{}", "true", "0", "-1",
               "99999999999999999999", "[[1.0, 2.0], [3.0]]", "1979-05-27", "0x10", "1_000", '"generated"',
               "[1, 2, 3, 4, 5]", "{ a = 1 }")


@cache
def toml_texts() -> dict[str, bytes]:
    """The example files and the small scenarios as TOML bytes."""
    texts = {p.name: p.read_bytes() for p in sorted(EXAMPLES.glob("*.toml"))}
    for name, data in base_dicts().items():
        texts[name] = ("\n".join(toml_lines(data)) + "\n").encode()
    return texts


class TextEdit(NamedTuple):
    """One edit of a TOML text at a relative position ``at`` in [0, 1]."""
    op: str
    at: float
    payload: Any = None


def text_edits() -> st.SearchStrategy[TextEdit]:
    """Truncation, deleted/duplicated/swapped lines, a value replaced, junk inserted, a byte flipped,
    a key or a table header renamed."""
    at = st.floats(0, 1)
    return st.one_of(
        st.builds(TextEdit, st.sampled_from(["truncate", "delete_line", "duplicate_line", "rename_key",
                                             "rename_header"]), at, st.none()),
        st.builds(TextEdit, st.just("swap_lines"), at, at),
        st.builds(TextEdit, st.just("value"), at, st.sampled_from(TOML_VALUES)),
        st.builds(TextEdit, st.just("insert"), at, st.one_of(st.binary(max_size=8), st.text(max_size=8).map(
            lambda s: s.encode("utf-8", "surrogatepass")))),
        st.builds(TextEdit, st.just("flip"), at, st.integers(0, 7)),
    )


def edit_text(text: bytes, e: TextEdit) -> bytes:
    """``text`` with one edit applied."""
    lines = text.split(b"\n")
    line = min(int(e.at * len(lines)), len(lines) - 1)
    pos = min(int(e.at * len(text)), max(len(text) - 1, 0))
    if e.op == "truncate":
        return text[:pos]
    if e.op == "insert":
        return text[:pos] + e.payload + text[pos:]
    if e.op == "flip":
        return text[:pos] + bytes([text[pos] ^ (1 << e.payload)]) + text[pos + 1:] if text else text
    if e.op == "delete_line":
        del lines[line]
    elif e.op == "duplicate_line":
        lines.insert(line, lines[line])
    elif e.op == "swap_lines":
        other = min(int(e.payload * len(lines)), len(lines) - 1)
        lines[line], lines[other] = lines[other], lines[line]
    elif e.op == "value" and b"=" in lines[line]:
        lines[line] = lines[line].split(b"=", 1)[0] + b"= " + e.payload.encode()
    elif e.op == "rename_key" and b"=" in lines[line]:
        lines[line] = b"x" + lines[line]
    elif e.op == "rename_header":
        lines = [ln.replace(b"]", b"s]", 1) if ln.startswith(b"[") and i >= line else ln
                 for i, ln in enumerate(lines)]
    return b"\n".join(lines)


class TomlCase(NamedTuple):
    """A TOML text and the edits applied to it."""
    base: str
    edits: tuple[TextEdit, ...]

    def build(self) -> bytes:
        text = toml_texts()[self.base]
        for e in self.edits:
            text = edit_text(text, e)
        return text


def toml_cases() -> st.SearchStrategy[TomlCase]:
    """A TOML text with 1-3 edits."""
    return st.builds(TomlCase, st.sampled_from(sorted(toml_texts())),
                     st.lists(text_edits(), min_size=1, max_size=3).map(tuple))


@cache
def scratch_dir() -> Path:
    """A directory for the fuzzed TOML files (removed at exit)."""
    holder = tempfile.TemporaryDirectory(prefix="pyslice-fuzz-")
    scratch_dir.holder = holder  # type: ignore[attr-defined]  # kept alive until exit
    return Path(holder.name)


def check_toml_case(case: TomlCase) -> str:
    """Target ``scenario_toml``: the edited file loads through ``Scenario.from_toml``."""
    note_case(repr(case), True)
    path = scratch_dir() / "fuzz.toml"
    path.write_bytes(case.build())
    return record("scenario_toml", check_scenario(lambda: Scenario.from_toml(path)))


# --------------------------------------------------------------------------------------------------
# Shares of every bad kind.
# --------------------------------------------------------------------------------------------------


def structured(base: np.ndarray) -> np.ndarray:
    arr = np.zeros(base.shape, dtype=[("a", "f8"), ("b", "f8")])
    arr["a"] = base
    return arr


def with_value(base: np.ndarray, value: float, where: float) -> np.ndarray:
    arr = base.copy()
    arr.flat[int(where * (arr.size - 1))] = value
    return arr


def negative_entry(base: np.ndarray) -> np.ndarray:
    arr = base.copy()
    arr[..., 0], arr[..., -1] = arr[..., 0] + 0.5, arr[..., -1] - 0.5  # rows still sum to 1
    return arr


def one_hot(base: np.ndarray, dtype: str) -> np.ndarray:
    arr = np.zeros(base.shape, dtype=dtype)
    arr[..., 0] = 1
    return arr


def ragged(base: np.ndarray) -> list:
    rows = base.reshape(-1, base.shape[-1]).tolist()
    return [rows[0][:-1], *rows[1:]]


SHARE_KINDS: dict[str, Callable[[np.ndarray, float, float], Any]] = {
    # (valid shares [..., K, N], a value, a relative position) -> the shares to try
    "valid": lambda b, v, w: b,
    "list": lambda b, v, w: b.tolist(),
    "tuple": lambda b, v, w: tuple(map(tuple, b.reshape(-1, b.shape[-1]))) if b.ndim == 2 else b.tolist(),
    "float32": lambda b, v, w: b.astype(np.float32),
    "float16": lambda b, v, w: b.astype(np.float16),
    "int_one_hot": lambda b, v, w: one_hot(b, "int64"),
    "uint8_one_hot": lambda b, v, w: one_hot(b, "uint8"),
    "bool_one_hot": lambda b, v, w: one_hot(b, "bool"),
    "int_ones": lambda b, v, w: np.ones(b.shape, dtype=np.int32),
    "fortran": lambda b, v, w: np.asfortranarray(b),
    "strided": lambda b, v, w: np.repeat(b, 2, axis=-1)[..., ::2],
    "reversed": lambda b, v, w: b[..., ::-1, ::-1],
    "readonly": lambda b, v, w: np.lib.stride_tricks.as_strided(b, writeable=False),
    "broadcast": lambda b, v, w: np.broadcast_to(np.full(b.shape[-1], 1.0 / b.shape[-1]), b.shape),
    "matrix": lambda b, v, w: np.asmatrix(b) if b.ndim == 2 else b,
    "masked": lambda b, v, w: np.ma.masked_array(b, mask=b > 0.5),
    "value": with_value,  # one entry replaced (NaN, inf, negative, huge...)
    "negative": lambda b, v, w: negative_entry(b),
    "scaled": lambda b, v, w: b * v,
    "off_simplex": lambda b, v, w: b + (1 + SHARE_TOLERANCE * (1 + w)) / b.shape[-1] - b.sum(-1, keepdims=True)
    / b.shape[-1],
    "near_simplex": lambda b, v, w: b * (1 + SHARE_TOLERANCE * (w - 0.5)),
    "transposed": lambda b, v, w: np.swapaxes(b, -1, -2),
    "extra_dim": lambda b, v, w: b[None],
    "missing_row": lambda b, v, w: b[..., :-1, :],
    "extra_col": lambda b, v, w: np.concatenate([b, np.zeros((*b.shape[:-1], 1))], axis=-1),
    "flat": lambda b, v, w: b.ravel(),
    "zero_d": lambda b, v, w: np.array(v),
    "scalar": lambda b, v, w: v,
    "empty": lambda b, v, w: np.empty((0,) * (1 + int(w * 3))),
    "empty_rows": lambda b, v, w: b[..., :0, :],
    "empty_list": lambda b, v, w: [],
    "object": lambda b, v, w: b.astype(object),
    "complex": lambda b, v, w: b + 1j * v if math.isfinite(v) else b.astype(complex),
    "str": lambda b, v, w: b.astype(str),
    "bytes": lambda b, v, w: b.astype("S8"),
    "structured": lambda b, v, w: structured(b),
    "void": lambda b, v, w: b.view("V8"),
    "datetime": lambda b, v, w: np.zeros(b.shape, dtype="datetime64[s]"),
    "timedelta": lambda b, v, w: (b * 1000).astype("timedelta64[ms]"),
    "none": lambda b, v, w: None,
    "text": lambda b, v, w: "0.25",
    "dict": lambda b, v, w: {"shares": b},
    "ragged": lambda b, v, w: ragged(b),
    "generator": lambda b, v, w: (row for row in b),
    "nested_none": lambda b, v, w: [[None] * b.shape[-1]] * b.shape[-2],
}
SHARE_VALUES = (math.nan, math.inf, -math.inf, -1e-300, -0.0, 0.0, 1.0, 2.0, 1e308, 5e-324, -1.0, 1 + 1e-6,
                1 + 2e-6, 1 - 2e-6, 0.5)


class SharesCase(NamedTuple):
    """Shares of one kind built from valid rows (random seed ``seed``) for shape [*lead, K, N]."""
    kind: str
    seed: int
    value: float
    where: float

    def build(self, shape: tuple[int, ...]) -> Any:
        rng = np.random.default_rng(self.seed)
        base = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
        with quiet():
            return SHARE_KINDS[self.kind](base, self.value, self.where)


def shares_cases() -> st.SearchStrategy[SharesCase]:
    """Shares of every kind, valid ones now and then."""
    return st.builds(SharesCase, st.sampled_from(sorted(SHARE_KINDS)), st.integers(0, 2**32 - 1),
                     st.sampled_from(SHARE_VALUES), st.floats(0, 1))


def check_applied(applied: np.ndarray, given: Any) -> None:
    """Accepted shares are the ones given, as float64."""
    with quiet():
        expected = np.asarray(given, dtype=np.float64)
    np.testing.assert_array_equal(applied, expected.reshape(applied.shape))


# --------------------------------------------------------------------------------------------------
# Simulators and their calls.
# --------------------------------------------------------------------------------------------------


class SimSpec(NamedTuple):
    """A simulator: its scenario, its seed and the steps taken before the case (by policy)."""
    scenario: str
    seed: int
    warmup: tuple[str, ...]

    def build(self) -> Simulator:
        sim = Simulator(scenarios()[self.scenario], self.seed)
        for policy in self.warmup:
            sim.step_policy(policy)
        return sim


class BatchSpec(NamedTuple):
    """A batch: scenario, seeds (all equal in a shared world), threads, steps taken before the case."""
    scenario: str
    seeds: tuple[int, ...]
    threads: int
    shared_world: bool
    warmup: tuple[str, ...]

    def build(self) -> SimulatorBatch:
        batch = SimulatorBatch(scenarios()[self.scenario], list(self.seeds), self.threads, self.shared_world)
        for policy in self.warmup:
            batch.step_policy(policy)
        return batch


SMALL_SCENARIOS = ("tiny", "tiny", "tiny", "paper-1ue", "3d-1ue")
WARMUPS = st.lists(st.sampled_from(BUILTIN_POLICIES), max_size=2).map(tuple)


def sim_specs() -> st.SearchStrategy[SimSpec]:
    return st.builds(SimSpec, st.sampled_from(SMALL_SCENARIOS), st.integers(0, 2**64 - 1), WARMUPS)


@st.composite
def batch_specs(draw: st.DrawFn) -> BatchSpec:
    shared = draw(st.booleans())
    size = draw(st.integers(1, 3))
    seeds = [draw(st.integers(0, 2**64 - 1))] * size if shared else draw(
        st.lists(st.integers(0, 2**64 - 1), min_size=size, max_size=size))
    return BatchSpec(draw(st.sampled_from(SMALL_SCENARIOS)), tuple(seeds), draw(st.integers(1, 2)), shared,
                     draw(WARMUPS))


def sim_step(sim: Simulator, shares: Any) -> str:
    """One ``Simulator.step``: refused without change, or finite KPIs of the shares given."""
    outcome, result = refused_unchanged(lambda: sim.step(shares), sim.get_state)
    if outcome == FINITE:
        check_result(result, sim.n_cells, sim.n_slices, sim.n_ues)
        check_applied(result.shares, shares)
    return outcome


def batch_snapshot(batch: SimulatorBatch) -> tuple[list[bytes], dict[str, bytes], list[int]]:
    """A batch's states, the bytes of its output arrays and its seeds."""
    return batch.get_state(), {k: v.tobytes() for k, v in batch._out.items()}, list(batch.seeds)


def batch_call(batch: SimulatorBatch, call: Callable[[], Any]) -> tuple[str, Any]:
    """A stepping call on a batch: refused without change (states and outputs), or finite outputs."""
    outcome, out = refused_unchanged(call, lambda: batch_snapshot(batch))
    if outcome == FINITE:
        check_batch_out(out, batch.size, batch.n_cells, batch.n_slices)
    return outcome, out


def batch_step(batch: SimulatorBatch, shares: Any) -> str:
    """One ``SimulatorBatch.step``."""
    outcome, out = batch_call(batch, lambda: batch.step(shares))
    if outcome == FINITE:
        check_applied(out["shares"], shares)
    return outcome


def check_sim_step(spec: SimSpec, case: SharesCase) -> str:
    """Target ``simulator_step``: then the simulator still steps."""
    note_case(repr((spec, case)), True)
    sim = spec.build()
    outcome = sim_step(sim, case.build((sim.n_cells, sim.n_slices)))
    check_result(sim.step_policy("equal"), sim.n_cells, sim.n_slices, sim.n_ues)
    return record("simulator_step", outcome)


POLICY_NAMES = (*BUILTIN_POLICIES, "given", "", "EQUAL", "max_min", None, 1)


def check_batch_step(spec: BatchSpec, case: SharesCase, policies: tuple[Any, ...] | None) -> str:
    """Target ``batch_step``: ``step`` (or ``step_mixed`` with ``policies``), then the batch still steps."""
    note_case(repr((spec, case, policies)), True)
    batch = spec.build()
    shares = case.build((batch.size, batch.n_cells, batch.n_slices))
    if policies is None:
        outcome = batch_step(batch, shares)
    else:
        outcome = batch_call(batch, lambda: batch.step_mixed(list(policies), shares))[0]
    batch_call(batch, lambda: batch.step_policy("max-min"))
    return record("batch_step", outcome)


def mixed_policies() -> st.SearchStrategy[tuple[Any, ...] | None]:
    """None (a plain step) or one policy name per replica (some wrong, some lists of the wrong length)."""
    return st.one_of(st.none(), st.lists(st.sampled_from(POLICY_NAMES), min_size=0, max_size=4).map(tuple))


# --------------------------------------------------------------------------------------------------
# Damaged checkpoints.
# --------------------------------------------------------------------------------------------------


class Damage(NamedTuple):
    """A damage to a state: ``op`` at relative positions ``at`` with ``payload``."""
    op: str
    at: tuple[float, ...]
    payload: Any = None


DAMAGE_OPS = ("truncate", "extend", "overwrite", "flip_bit", "swap_words", "reorder", "duplicate_chunk",
              "header", "empty", "other_seed", "other_scenario", "follower", "unstepped", "same")
TYPE_CHANGES = ("str", "hex", "list", "memoryview", "ndarray", "none", "int", "bytearray", "tuple", "dict")


def damages() -> st.SearchStrategy[Damage]:
    """Byte-level damage (truncated, extended, altered, reordered), foreign states and type changes."""
    at = st.lists(st.floats(0, 1), min_size=1, max_size=4).map(tuple)
    return st.one_of(st.builds(Damage, st.sampled_from(DAMAGE_OPS), at, st.binary(min_size=1, max_size=16)),
                     st.builds(Damage, st.sampled_from(TYPE_CHANGES), at, st.none()))


@cache
def foreign_states() -> dict[str, bytes]:
    """States a simulator of ``tiny`` may be handed: another seed's, another scenario's, a
    shared-world follower's, one taken before any step."""
    other = SimSpec("tiny", 7, ("traffic-aware",)).build()
    follower = BatchSpec("tiny", (3, 3), 1, True, ("equal",)).build()
    return {"other_seed": other.get_state(), "other_scenario": SimSpec("paper-1ue", 1, ("equal",)).build().get_state(),
            "follower": follower.get_state()[1], "unstepped": Simulator(scenarios()["tiny"], 5).get_state()}


def positions(state: bytes, at: tuple[float, ...]) -> list[int]:
    return [min(int(a * len(state)), max(len(state) - 1, 0)) for a in at]


def damage_bytes(state: bytes, d: Damage) -> bytes:
    """``state`` with byte-level damage ``d``."""
    pos = positions(state, d.at)
    payload = d.payload or b"\x00"
    if d.op == "truncate":
        return state[:pos[0]]
    if d.op == "extend":
        return state + payload
    if d.op == "empty":
        return b""
    if d.op == "header":
        return payload[:8] + state[len(payload[:8]):]
    if d.op == "same":
        return state
    out = bytearray(state)
    if d.op == "overwrite":
        for p in pos:
            out[p:p + len(payload)] = payload
        return bytes(out[:len(state)])
    if d.op == "flip_bit":
        for p in pos:
            out[p] ^= 1 << (p % 8)
        return bytes(out)
    if d.op == "swap_words":
        a, b = pos[0] // 8 * 8, pos[-1] // 8 * 8
        out[a:a + 8], out[b:b + 8] = state[b:b + 8], state[a:a + 8]
        return bytes(out)
    if d.op == "duplicate_chunk":
        a = pos[0]
        return state[:a] + state[a:a + 8 * len(payload)] + state[a:]
    cuts = sorted(set(pos)) + [len(state)]
    chunks = [state[a:b] for a, b in zip([0, *cuts[:-1]], cuts)]
    return b"".join(chunks[::-1])  # reorder


def damage_state(state: bytes, d: Damage) -> Any:
    """The object a damaged checkpoint hands ``set_state``."""
    if d.op in foreign_states():
        return foreign_states()[d.op]
    changes: dict[str, Callable[[bytes], Any]] = {
        "str": lambda s: s.decode("latin-1"), "hex": bytes.hex, "list": list, "memoryview": memoryview,
        "ndarray": lambda s: np.frombuffer(s, dtype=np.uint8), "none": lambda s: None, "int": len,
        "bytearray": bytearray, "tuple": lambda s: (s,), "dict": lambda s: {"state": s}}
    if d.op in changes:
        return changes[d.op](state)
    return damage_bytes(state, d)


def sim_set_state(sim: Simulator, obj: Any) -> str:
    """``Simulator.set_state``: refused without change, or the exact state is restored and steps."""
    outcome, _ = refused_unchanged(lambda: sim.set_state(obj), sim.get_state)
    if outcome == FINITE:
        assert sim.get_state() == bytes(obj), "an accepted state does not read back"
        check_result(sim.step_policy("equal"), sim.n_cells, sim.n_slices, sim.n_ues)
    return outcome


def check_sim_state(spec: SimSpec, damage: Damage) -> str:
    """Target ``simulator_state`` (a ``tiny`` simulator; foreign states of its size are valid)."""
    note_case(repr((spec, damage)), True)
    sim = spec._replace(scenario="tiny").build()
    source = SimSpec("tiny", spec.seed ^ 1, ("max-min",)).build().get_state()
    outcome = sim_set_state(sim, damage_state(source, damage))
    check_result(sim.step_policy("traffic-aware"), sim.n_cells, sim.n_slices, sim.n_ues)
    return record("simulator_state", outcome)


class BatchDamage(NamedTuple):
    """A damage to one replica's state (``replica`` modulo the size) or to the list (``list_op``)."""
    replica: int
    damage: Damage
    list_op: str


LIST_OPS = ("none", "none", "none", "reverse", "drop", "append", "bytes", "tuple", "str_item", "rotate")


def batch_damages() -> st.SearchStrategy[BatchDamage]:
    return st.builds(BatchDamage, st.integers(0, 2), damages(), st.sampled_from(LIST_OPS))


def damage_list(states: list[bytes], d: BatchDamage) -> Any:
    """The object a damaged batch checkpoint hands ``SimulatorBatch.set_state``."""
    states = list(states)
    i = d.replica % len(states)
    states[i] = damage_state(states[i], d.damage)
    ops: dict[str, Callable[[list], Any]] = {
        "none": lambda s: s, "reverse": lambda s: s[::-1], "drop": lambda s: s[:-1], "append": lambda s: s + s[:1],
        "bytes": lambda s: s[0], "tuple": tuple, "str_item": lambda s: [*s[:-1], "state"],
        "rotate": lambda s: s[1:] + s[:1]}
    return ops[d.list_op](states)


def batch_set_state(batch: SimulatorBatch, obj: Any) -> str:
    """``SimulatorBatch.set_state``: refused without change, or restored exactly and steps."""
    outcome, _ = refused_unchanged(lambda: batch.set_state(obj), batch.get_state)
    if outcome == FINITE:
        assert batch.get_state() == [bytes(s) for s in obj], "accepted states do not read back"
        batch_call(batch, lambda: batch.step_policy("equal"))
    return outcome


def check_batch_state(spec: BatchSpec, damage: BatchDamage) -> str:
    """Target ``batch_state``: a ``tiny`` batch handed damaged states of a twin (other seeds)."""
    note_case(repr((spec, damage)), True)
    spec = spec._replace(scenario="tiny")
    batch = spec.build()
    twin = spec._replace(seeds=tuple(s ^ 1 for s in spec.seeds), warmup=("traffic-aware",)).build()
    outcome = batch_set_state(batch, damage_list(twin.get_state(), damage))
    batch_call(batch, lambda: batch.step_policy("max-min"))
    return record("batch_state", outcome)


SEEDS = st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([-1, 2**64, 1.5, "1", True, None, np.int64(3)]))


class PickleCase(NamedTuple):
    """A damage to the dict a pickled simulator (``batch``: a batch) saved: ``op`` on ``key``."""
    batch: bool
    key: str
    op: str
    value: Any
    damage: Damage


PICKLED_KEYS = {False: ("scenario", "seed", "state"),
                True: ("scenario", "seeds", "threads", "shared_world", "states", "out")}


def pickle_cases() -> st.SearchStrategy[PickleCase]:
    """A key deleted, set to a wrong or foreign value, its state damaged, an unknown key added, or
    the whole dict replaced."""
    values = st.one_of(wrong(), SEEDS, st.sampled_from([scenarios()["paper-1ue"], [1, 2], (0,), 2, 0]))
    return st.booleans().flatmap(lambda batch: st.builds(
        PickleCase, st.just(batch), st.sampled_from(PICKLED_KEYS[batch]),
        st.sampled_from(["delete", "wrong", "damage", "damage", "extra", "root"]), values, damages()))


def damage_pickled(saved: dict[str, Any], case: PickleCase) -> Any:
    """The dict ``__setstate__`` gets from a damaged pickle."""
    saved = dict(saved)
    if case.op == "root":
        return case.value
    if case.op == "delete":
        del saved[case.key]
    elif case.op == "wrong":
        saved[case.key] = case.value
    elif case.op == "extra":
        saved["unknown"] = case.value
    elif case.key == "state":
        saved["state"] = damage_state(saved["state"], case.damage)
    elif case.key == "states":
        saved["states"] = damage_list(saved["states"], BatchDamage(0, case.damage, "none"))
    elif case.key == "out":
        saved["out"] = {name: damage_array(arr, case.damage) for name, arr in saved["out"].items()}
    return saved


def damage_array(arr: np.ndarray, damage: Damage) -> Any:
    """A saved output array damaged: truncated, reshaped, of another dtype, NaN-filled or not an array."""
    kinds: dict[str, Callable[[np.ndarray], Any]] = {
        "truncate": lambda a: a.ravel()[:-1], "extend": lambda a: np.concatenate([a, a]), "empty": lambda a: a[:0],
        "header": lambda a: a.astype(object), "overwrite": lambda a: np.full(a.shape, np.nan), "none": lambda a: None,
        "str": lambda a: a.astype(str), "list": lambda a: a.tolist()}
    return kinds.get(damage.op, lambda a: a)(arr)


def check_pickle(sim: SimSpec, batch: BatchSpec, case: PickleCase) -> str:
    """Target ``pickle_state``: ``__setstate__`` (as unpickling calls it) of a damaged saved dict
    refuses cleanly or gives an object that steps to finite KPIs."""
    note_case(repr((sim, batch, case)), True)
    obj = batch._replace(scenario="tiny").build() if case.batch else sim._replace(scenario="tiny").build()
    saved = damage_pickled(obj.__getstate__(), case)
    fresh = type(obj).__new__(type(obj))
    try:
        with quiet():
            fresh.__setstate__(saved)
    except (ValueError, TypeError) as exc:
        check_refusal(exc)
        return record("pickle_state", REFUSED)
    if isinstance(fresh, SimulatorBatch):
        batch_call(fresh, lambda: fresh.step_policy("equal"))
    else:
        check_result(fresh.step_policy("equal"), fresh.n_cells, fresh.n_slices, fresh.n_ues)
    return record("pickle_state", FINITE)


# --------------------------------------------------------------------------------------------------
# Rule-based sequences.
# --------------------------------------------------------------------------------------------------



def replay(step: Callable[[], Any], restore: Callable[[], None], copy_of: Callable[[Any], Any]) -> None:
    """Restore, step, restore, step: the same outputs both times."""
    restore()
    first = copy_of(step())
    restore()
    again = copy_of(step())
    assert first.keys() == again.keys()
    for key in first:
        np.testing.assert_array_equal(first[key], again[key], err_msg=key)


def result_arrays(result: StepResult) -> dict[str, Any]:
    return {k: v for k, v in vars(result).items()}


class SimulatorMachine(RuleBasedStateMachine):
    """Any sequence of step / step_policy / get_state / set_state (saved, damaged or foreign) /
    reset / pickling / reads on one Simulator; ``time`` follows a model of the calls."""

    saved = Bundle("saved")
    target = "simulator_machine"

    @initialize(spec=sim_specs())
    def start(self, spec: SimSpec) -> None:
        note_case(f"start({spec!r})", True)
        self.sim = spec.build()
        self.time = len(spec.warmup)

    def counted(self, what: str, outcome: str) -> None:
        record(self.target, outcome)
        if outcome == FINITE and what == "step":
            self.time += 1

    @rule(case=shares_cases())
    def step(self, case: SharesCase) -> None:
        note_case(f"step({case!r})")
        self.counted("step", sim_step(self.sim, case.build((self.sim.n_cells, self.sim.n_slices))))

    @rule(policy=st.sampled_from(POLICY_NAMES))
    def step_policy(self, policy: Any) -> None:
        note_case(f"step_policy({policy!r})")
        outcome, result = refused_unchanged(lambda: self.sim.step_policy(policy), self.sim.get_state)
        if outcome == FINITE:
            check_result(result, self.sim.n_cells, self.sim.n_slices, self.sim.n_ues)
        self.counted("step", outcome)

    @rule(target=saved)
    def get_state(self) -> tuple[bytes, int]:
        note_case("get_state()")
        self.counted("get_state", FINITE)
        return self.sim.get_state(), self.time

    @rule(saved=saved)
    def set_state(self, saved: tuple[bytes, int]) -> None:
        note_case("set_state(saved)")
        self.counted("set_state", sim_set_state(self.sim, saved[0]))
        self.time = saved[1] + 1  # sim_set_state steps once after an accepted state

    @rule(saved=saved, damage=damages())
    def set_damaged(self, saved: tuple[bytes, int], damage: Damage) -> None:
        note_case(f"set_state(damaged saved: {damage!r})")
        state = damage_state(saved[0], damage)
        outcome = sim_set_state(self.sim, state)
        self.counted("set_state", outcome)
        if outcome == FINITE:
            self.time = self.sim.time

    @rule(saved=saved, case=shares_cases())
    def replay(self, saved: tuple[bytes, int], case: SharesCase) -> None:
        note_case(f"replay(saved, {case!r})")
        shares = SharesCase("valid", case.seed, 1.0, 0.0).build((self.sim.n_cells, self.sim.n_slices))
        replay(lambda: self.sim.step(shares), lambda: self.sim.set_state(saved[0]),
               lambda r: copy.deepcopy(result_arrays(r)))
        self.time = saved[1] + 1
        self.counted("replay", FINITE)

    @rule(seed=st.one_of(SEEDS, st.none()))
    def reset(self, seed: Any) -> None:
        note_case(f"reset({seed!r})")
        outcome, _ = refused_unchanged(lambda: self.sim.reset(seed), lambda: (self.sim.get_state(), self.sim.seed))
        if outcome == FINITE:
            self.time = 0
        self.counted("reset", outcome)

    @rule()
    def pickled(self) -> None:
        note_case("pickled()")
        twin = pickle.loads(pickle.dumps(self.sim))
        assert twin.get_state() == self.sim.get_state()
        shares = np.full((self.sim.n_cells, self.sim.n_slices), 1.0 / self.sim.n_slices)
        a, b = result_arrays(self.sim.step(shares)), result_arrays(twin.step(shares))
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        self.counted("step", FINITE)

    @rule()
    def reads(self) -> None:
        note_case("reads()")
        sim = self.sim
        k, u = sim.n_cells, sim.n_ues
        assert sim.gains().shape == (k, u) and np.all(np.isfinite(sim.gains()))
        assert all(v.shape[0] == u for v in sim.ue_samples().values())
        assert sim.state()["positions"].shape == (u, 2) and np.all(np.isfinite(sim.state()["positions"]))
        self.counted("reads", FINITE)

    @invariant()
    def time_follows_the_model(self) -> None:
        if hasattr(self, "sim"):
            assert self.sim.time == self.time, (self.sim.time, self.time)


def batch_shares_for(batch: SimulatorBatch, case: SharesCase) -> Any:
    return case.build((batch.size, batch.n_cells, batch.n_slices))


class BatchMachine(RuleBasedStateMachine):
    """Any sequence of step / step_policy / step_mixed / get_state / set_state (saved or damaged) /
    reset / reads (good and bad replica indices) / pickling on one SimulatorBatch, shared world or not."""

    saved = Bundle("saved")
    target = "batch_machine"

    @initialize(spec=batch_specs())
    def start(self, spec: BatchSpec) -> None:
        note_case(f"start({spec!r})", True)
        self.batch = spec.build()

    def call(self, fn: Callable[[], Any]) -> None:
        record(self.target, batch_call(self.batch, fn)[0])

    @rule(case=shares_cases())
    def step(self, case: SharesCase) -> None:
        note_case(f"step({case!r})")
        record(self.target, batch_step(self.batch, batch_shares_for(self.batch, case)))

    @rule(policy=st.sampled_from(POLICY_NAMES))
    def step_policy(self, policy: Any) -> None:
        note_case(f"step_policy({policy!r})")
        self.call(lambda: self.batch.step_policy(policy))

    @rule(policies=mixed_policies(), case=shares_cases(), none=st.booleans())
    def step_mixed(self, policies: tuple[Any, ...] | None, case: SharesCase, none: bool) -> None:
        note_case(f"step_mixed({policies!r}, {case!r}, none={none})")
        names = list(policies or ()) or ["given"] * self.batch.size
        shares = None if none else batch_shares_for(self.batch, case)
        self.call(lambda: self.batch.step_mixed(names, shares))

    @rule(target=saved)
    def get_state(self) -> list[bytes]:
        note_case("get_state()")
        record(self.target, FINITE)
        return self.batch.get_state()

    @rule(saved=saved, damage=batch_damages())
    def set_state(self, saved: list[bytes], damage: BatchDamage) -> None:
        note_case(f"set_state(saved, {damage!r})")
        record(self.target, batch_set_state(self.batch, damage_list(saved, damage)))

    @rule(saved=saved)
    def replay(self, saved: list[bytes]) -> None:
        note_case("replay(saved)")
        replay(lambda: self.batch.step_policy("traffic-aware"), lambda: self.batch.set_state(saved),
               lambda out: {k: v.copy() for k, v in out.items()})
        record(self.target, FINITE)

    @rule(seeds=st.one_of(st.none(), st.lists(SEEDS, min_size=1, max_size=4)), fit=st.booleans())
    def reset(self, seeds: list[Any] | None, fit: bool) -> None:
        if seeds is not None and fit:  # one seed per replica
            seeds = [seeds[i % len(seeds)] for i in range(self.batch.size)]
        note_case(f"reset({seeds!r})")
        outcome, _ = refused_unchanged(lambda: self.batch.reset(seeds), lambda: batch_snapshot(self.batch))
        record(self.target, outcome)

    @rule(replica=st.one_of(st.integers(-2, 4), st.sampled_from([2**40, 1.0, "0", None, np.int32(0)])),
          read=st.sampled_from(["result", "state", "ue_samples"]))
    def read(self, replica: Any, read: str) -> None:
        note_case(f"{read}({replica!r})")
        outcome, value = refused_unchanged(lambda: getattr(self.batch, read)(replica), self.batch.get_state)
        if outcome == FINITE and read == "result" and value.time > 0:
            check_result(value, self.batch.n_cells, self.batch.n_slices, len(value.sinr_db))
        record(self.target, outcome)

    @rule()
    def pickled(self) -> None:
        note_case("pickled()")
        twin = pickle.loads(pickle.dumps(self.batch))
        assert twin.get_state() == self.batch.get_state()
        a = {k: v.copy() for k, v in self.batch.step_policy("equal").items()}
        b = twin.step_policy("equal")
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        record(self.target, FINITE)


# --------------------------------------------------------------------------------------------------
# The targets, by name (tools/fuzz.py runs each in a subprocess).
# --------------------------------------------------------------------------------------------------


class Target(NamedTuple):
    """A fuzz target: a strategy of argument tuples and the check that runs one case."""
    arguments: st.SearchStrategy[tuple[Any, ...]]
    check: Callable[..., str]


def targets() -> dict[str, Target]:
    """The function targets (the state machines are :data:`MACHINES`)."""
    return {
        "scenario_dict": Target(st.tuples(scenario_cases()), check_scenario_case),
        "scenario_toml": Target(st.tuples(toml_cases()), check_toml_case),
        "simulator_step": Target(st.tuples(sim_specs(), shares_cases()), check_sim_step),
        "batch_step": Target(st.tuples(batch_specs(), shares_cases(), mixed_policies()), check_batch_step),
        "simulator_state": Target(st.tuples(sim_specs(), damages()), check_sim_state),
        "batch_state": Target(st.tuples(batch_specs(), batch_damages()), check_batch_state),
        "pickle_state": Target(st.tuples(sim_specs(), batch_specs(), pickle_cases()), check_pickle),
    }


MACHINES: dict[str, type[RuleBasedStateMachine]] = {"simulator_machine": SimulatorMachine,
                                                    "batch_machine": BatchMachine}
