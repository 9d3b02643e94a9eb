"""Settings documents: --set parsing and checking, --config files, the effective config.toml."""
from __future__ import annotations

import copy
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyslice import Scenario
from pyslice.study.experiment import ReproduceConfig
from pyslice.settings import (apply_overrides, parse_override, parse_value, reproduce_settings, train_settings,
                              transfer_settings)
from pyslice.sweep import parse_grid, split_values
from pyslice.learn.td3 import TD3Config


def test_parse_value_reads_toml_literals_and_bare_words():
    assert parse_value("5e-4") == 5e-4 and parse_value("3") == 3 and parse_value("true") is True
    assert parse_value("[48, 24]") == [48, 24] and parse_value('"x y"') == "x y"
    assert parse_value("softmax") == "softmax" and parse_value("vae-kl-equal-sigma") == "vae-kl-equal-sigma"
    assert parse_value("none") is None and parse_value("inf") == math.inf
    with pytest.raises(ValueError, match="TOML literal"):
        parse_value("[1, 2")
    assert parse_override("td3.actor_lr = 1e-4") == (("td3", "actor_lr"), 1e-4)
    for bad in ("td3.actor_lr", "actor_lr=1", ".x=1", "td3.=1"):
        with pytest.raises(ValueError, match="section.key=value"):
            parse_override(bad)


def test_overrides_reach_the_objects_through_aliases():
    s = reproduce_settings(Scenario.paper(), ReproduceConfig.quick())
    apply_overrides(s, ["td3.actor_lr=1e-4", "train.td3.critic_lr=2e-3", "vae.epochs=7", "reproduce.targets=[0, 3]",
                        "scenario.radio.tx_power_dbm=40", "scenario.slices.1.demand_bps=2e5",
                        "reproduce.tl_exploration_noise=0.2", "td3.actor_head=softmax", "td3.exploration=logit",
                        "td3.target_smoothing=logit", "td3.actor_lr=3e-4"])  # later items win
    cfg, sc = s.objects["reproduce"], s.objects["scenario"]
    assert cfg.train.td3.actor_lr == 3e-4 and cfg.train.td3.critic_lr == 2e-3 and cfg.vae.epochs == 7
    assert cfg.targets == (0, 3) and cfg.tl_exploration_noise == 0.2 and cfg.train.td3.actor_head == "softmax"
    assert sc.radio.tx_power_dbm == 40.0 and sc.slices[1].demand_bps == 2e5
    assert cfg.tl_steps == ReproduceConfig.quick().tl_steps  # untouched settings keep the base's value


@pytest.mark.parametrize("item, message", [
    ("td3.actor_lrr=1", "did you mean 'td3.actor_lr'"),
    ("reproduce.seedz=2", "did you mean 'reproduce.seeds'"),
    ("scenario.radio.tx_power=3", "did you mean 'scenario.radio.tx_power_dbm'"),
    ("nosuch.key=1", "has keys reproduce, scenario, train"),
    ("scenario.slices.7.demand_bps=1", "list of 4 entries"),
    ("td3.actor_lr=-1", "actor_lr must be > 0"),
    ("td3.actor_lr=fast", "td3.actor_lr must be a float"),
    ("reproduce.seeds=1.5", "reproduce.seeds must be an int"),
    ("reproduce.seeds=true", "reproduce.seeds must be an int"),
    ("reproduce.targets=[99]", "reproduce.targets must be cells in [0, 11]"),
    ("reproduce.tl_steps=none", "cannot be none"),
    ("td3=1", "section.key=value"),
    ("train.td3=1", "is a table"),
    ("td3.actor_head=softmax", "exploration must be one of"),  # needs its companions
])
def test_bad_overrides_name_the_key(item, message):
    s = reproduce_settings(Scenario.paper(), ReproduceConfig())
    before = copy.deepcopy(s.objects)
    with pytest.raises(ValueError, match="--set") as info:
        apply_overrides(s, [item])
    assert message in str(info.value)
    if "did you mean" in message or "has keys" in message or "list of" in message:
        assert before == s.objects


@settings(max_examples=25, deadline=None)
@given(lr=st.floats(1e-6, 1e-1), seeds=st.integers(1, 9), epochs=st.integers(1, 500),
       noise=st.one_of(st.none(), st.floats(0, 1)), power=st.floats(10, 50),
       targets=st.one_of(st.just("all"), st.lists(st.integers(0, 11), min_size=1, max_size=4, unique=True)))
def test_effective_config_reads_back_to_the_same_settings(tmp_path_factory, lr, seeds, epochs, noise, power, targets):
    s = reproduce_settings(Scenario.paper(), ReproduceConfig())
    s.update([(("td3", "actor_lr"), lr, "test"), (("reproduce", "seeds"), seeds, "test"),
              (("vae", "epochs"), epochs, "test"), (("reproduce", "tl_exploration_noise"), noise, "test"),
              (("reproduce", "targets"), targets, "test"), (("scenario", "radio", "tx_power_dbm"), power, "test")],
             "test")
    path = tmp_path_factory.mktemp("cfg") / "config.toml"
    path.write_text(s.toml())
    fresh = reproduce_settings(Scenario.paper(), ReproduceConfig.quick())  # another base: the file decides
    fresh.merge_file(path)
    assert fresh.objects == s.objects


def test_config_file_errors_name_the_file_and_key(tmp_path):
    s = train_settings(Scenario.paper())
    bad = tmp_path / "bad.toml"
    bad.write_text("[train.td3]\nactor_lrr = 1e-4\n")
    with pytest.raises(ValueError, match=r"--config .*bad.toml.*did you mean 'train.td3.actor_lr'"):
        s.merge_file(bad)
    bad.write_text("[train\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        s.merge_file(bad)
    with pytest.raises(ValueError, match="existing TOML file"):
        s.merge_file(tmp_path / "missing.toml")
    partial = tmp_path / "partial.toml"
    partial.write_text("[td3]\nactor_lr = 2e-4\n[train]\ntraining_steps = 7\n")
    s.merge_file(partial)
    assert s.objects["train"].td3.actor_lr == 2e-4 and s.objects["train"].training_steps == 7


def test_transfer_settings_check_their_values():
    s = transfer_settings(TD3Config())
    apply_overrides(s, ["transfer.source=4", "transfer.steps=10", "td3.actor_lr=1e-4"])
    assert s.objects["transfer"]["source"] == 4 and s.objects["td3"].actor_lr == 1e-4
    for bad, message in (("transfer.source=-1", "transfer.source"), ("transfer.exploration_noise=-1", "exploration"),
                         ("transfer.steps=-3", "transfer.steps"), ("transfer.stepz=1", "transfer.steps")):
        with pytest.raises(ValueError, match=message):
            apply_overrides(transfer_settings(TD3Config()), [bad])


def test_grid_values_split_outside_brackets():
    assert split_values("5e-4,1e-4") == ["5e-4", "1e-4"]
    assert split_values('[48, 24],[64,32], "a,b"') == ["[48, 24]", "[64,32]", '"a,b"']
    assert parse_grid(["td3.actor_hidden=[48,24],[64,32]", "reproduce.seeds=1"]) == [
        ("td3.actor_hidden", [[48, 24], [64, 32]]), ("reproduce.seeds", [1])]
    for bad, message in ((["td3.actor_lr"], "section.key=v1"), (["td3.actor_lr=1,,2"], "empty value"),
                         (["td3.actor_lr=1,1"], "repeated"), (["td3.actor_lr=1", "td3.actor_lr=2"], "twice")):
        with pytest.raises(ValueError, match=message):
            parse_grid(bad)
