"""The settings table: each setting declared once, its flag, TOML key and --help line made from it;
config files checked key by key; the order in which defaults, files and flags win; a frozen Config."""

from __future__ import annotations

import dataclasses
import re

import pytest

from leakwatch.cli import build_parser, parse
from leakwatch.commands import COMMANDS
from leakwatch.config import Config, build_config, sections, table
from leakwatch.crawls import COLLINFO_URL
from leakwatch.errors import ConfigError
from leakwatch.jobs import stats


def subparser(command: str):
    [sub] = [a for a in build_parser()._actions if a.dest == "command"]  # the subparsers action
    return sub.choices[command]


def help_text(command: str) -> str:
    return subparser(command).format_help()


def test_every_setting_has_one_flag_no_other_setting_has():
    flags = [f for s in table().values() if not s.spec.positional for f in s.flags]
    assert len(flags) == len(set(flags))
    assert {s.section for s in table().values()} - {""} == set(sections())
    for s in table().values():
        assert s.spec.help and s.toml_key.endswith(s.name)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_shows_real_defaults_and_no_internal_names(command):
    text = help_text(command)
    assert "__" not in text and not re.search(r"[A-Z]+\.[A-Z_]+", text), text  # no metavar made from a dest
    assert "--config FILE" in text
    for action in subparser(command)._actions:
        setting = table().get(action.dest)
        if setting is not None and (setting.spec.default_help or setting.default not in (None, (), "")):
            assert "(default: " in action.help, action.dest


def flag_help(command: str, key: str) -> str:
    [action] = [a for a in subparser(command)._actions if a.dest == key]
    return action.help


def test_defaults_shown_are_the_declared_and_the_commands_own():
    assert flag_help("stats", "stats.replicates").endswith("(default: 1000)")
    assert flag_help("dedup", "dedup.jaccard_threshold").endswith("(default: 0.8)")
    assert flag_help("demo", "spark.shuffle_partitions").endswith("(default: 4)")
    assert flag_help("validate", "spark.shuffle_partitions").endswith("(default: 8)")
    assert flag_help("extract", "spark.shuffle_partitions").endswith("(default: Spark's own, 200)")
    assert flag_help("extract", "warehouse").endswith("(default: ./warehouse, under the current directory)")


def test_cli_flags_land_in_the_stats_section():
    command, config = parse([
        "stats", "--out", "wh", "--replicates", "50", "--bootstrap-seed", "3", "--level", "0.9",
        "--flag-threshold", "0.8", "--llm-texts", "a.jsonl", "b.jsonl", "--no-word-frequency", "--top-domains", "7",
        "--min-site-docs", "4", "--estimator", "hdy_v1",
    ])
    options = config.stats
    assert (config.warehouse, command.entry) == ("wh", "leakwatch.jobs.stats:run")
    assert (options.replicates, options.bootstrap_seed, options.level, options.flag_threshold) == (50, 3, 0.9, 0.8)
    assert (options.llm_texts, options.word_frequency, options.top_domains, options.min_site_docs) == (
        ("a.jsonl", "b.jsonl"), False, 7, 4)
    assert options.estimator == "hdy_v1"
    assert command.load() is stats.run


def test_flags_that_bypassed_the_config_are_settings():
    _, monthly = parse(["monthly", "--since", "CC-MAIN-2024-10", "--lock-stale-hours", "2"])
    assert (monthly.monthly.since, monthly.monthly.lock_stale_hours) == ("CC-MAIN-2024-10", 2.0)
    _, crawls = parse(["crawls", "--refresh", "--last", "3"])
    assert (crawls.crawls.refresh, crawls.crawls.last) == (COLLINFO_URL, 3)
    _, score = parse(["score", "texts.jsonl"])
    assert score.score.input == "texts.jsonl"
    _, demo = parse(["demo", "--samples", "s", "--pages-per-crawl", "12", "--sample-seed", "3"])
    assert (demo.demo.samples, demo.demo.pages_per_crawl, demo.demo.seed, demo.spark.shuffle_partitions) == (
        "s", 12, 3, 4)
    _, dedup = parse(["dedup", "--only-crawl", "CC-MAIN-2024-10", "--only-crawl", "CC-MAIN-2024-18", "--no-verify"])
    assert dedup.only_crawl == ("CC-MAIN-2024-10", "CC-MAIN-2024-18") and dedup.dedup.verify is False
    _, train = parse(["train", "--labeled", "data", "--model-dir", "m", "--sweep", "--no-evaluate"])
    t = train.train
    assert (t.labeled, t.model_dir, t.sweep, t.evaluate) == ("data", "m", True, False)


def test_toml_config_and_flags(tmp_path):
    toml = tmp_path / "lw.toml"
    toml.write_text('warehouse = "from-file"\n[ingest]\nmin_text_chars = 50\nretries = 2\n[inputs]\nseed = 3\n')
    _, config = parse(["extract", "x.warc.gz", "--config", str(toml), "--retries", "9"])
    assert config.warehouse == "from-file" and config.ingest.min_text_chars == 50
    assert config.ingest.retries == 9 and config.inputs.seed == 3 and config.inputs.paths == ("x.warc.gz",)
    toml.write_text("[ingest]\nmax_bytes = 1\n")
    with pytest.raises(ConfigError, match=r"lw.toml: unknown setting 'max_bytes' in \[ingest\]; \[ingest\] takes ret"):
        parse(["extract", "--config", str(toml)])


def test_train_reads_its_config_file(tmp_path):
    toml = tmp_path / "train.toml"
    toml.write_text('[train]\nmodel_dir = "elsewhere"\nsweep = true\n')
    _, config = parse(["train", "--config", str(toml)])
    assert (config.train.model_dir, config.train.sweep) == ("elsewhere", True)


@pytest.mark.parametrize("text, message", [
    ('[stats]\nreplicates = "many"\n', r"\[stats\] replicates must be an integer, not 'many' \(a string\)"),
    ("[stats]\nreplicates = 2.5\n", r"\[stats\] replicates must be an integer, not 2.5 \(a number\)"),
    ("[inputs]\nresume = 1\n", r"\[inputs\] resume must be true or false, not 1 \(an integer\)"),
    ('[inputs]\ncrawl = "CC-MAIN-2024-10"\n', r"\[inputs\] crawl must be a list of strings"),
    ('[inputs]\nformat = "zip"\n', r"\[inputs\] format must be one of auto, warc, wet, arc, parquet, jsonl, not 'zip'"),
    ("[validate]\nshares = [0.1, \"x\"]\n", r"\[validate\] shares must be a list of numbers"),
    ("stats = 3\n", r"\[stats\] must be a table of settings"),
    ("[nope]\nx = 1\n", r"unknown setting 'nope'; top-level settings are warehouse, run_id, only_crawl"),
    ("threshold = 0.8\n", r"unknown setting 'threshold'"),
    ("[dedup]\nthreshold = 0.8\n", r"unknown setting 'threshold' in \[dedup\]; \[dedup\] takes .*jaccard_threshold"),
    ("[stats\n", r"is not valid TOML"),
])
def test_file_errors_name_the_file_the_key_and_what_it_takes(tmp_path, text, message):
    toml = tmp_path / "bad.toml"
    toml.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(str(toml)) + ".*" + message):
        build_config(config_file=str(toml))


def test_numbers_widen_and_lists_become_tuples(tmp_path):
    toml = tmp_path / "ok.toml"
    toml.write_text("[inputs]\nmax_failed_share = 1\n[validate]\ncrawls = [\"CC-MAIN-2021-04\"]\nshares = [0]\n")
    config = build_config(config_file=str(toml))
    assert config.inputs.max_failed_share == 1.0 and isinstance(config.inputs.max_failed_share, float)
    assert config.validate.crawls == ("CC-MAIN-2021-04",) and config.validate.shares == (0.0,)


def test_flags_beat_the_file_which_beats_the_commands_defaults(tmp_path, monkeypatch):
    toml = tmp_path / "lw.toml"
    toml.write_text('run_id = "from-file"\n[spark]\nshuffle_partitions = 16\n')
    assert parse(["demo", "--config", str(toml)])[1].spark.shuffle_partitions == 16
    assert parse(["demo", "--config", str(toml), "--shuffle-partitions", "2"])[1].spark.shuffle_partitions == 2
    assert parse(["demo", "--config", str(toml)])[1].run_id == "from-file"
    monkeypatch.setenv("LEAKWATCH_RUN_ID", "from-env")
    assert parse(["demo", "--config", str(toml)])[1].run_id == "from-env"
    assert parse(["demo", "--run-id", "from-flag"])[1].run_id == "from-flag"


def test_config_is_frozen_and_replace_makes_a_copy():
    config = Config(warehouse="wh")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.warehouse = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.stats.replicates = 5  # type: ignore[misc]
    other = config.replace({"warehouse": "wh2", "stats.replicates": 5, "inputs.paths": ("a",)})
    assert (other.warehouse, other.stats.replicates, other.inputs.paths, other.run_id) == (
        "wh2", 5, ("a",), config.run_id)
    assert (config.warehouse, config.stats.replicates, config.inputs.paths) == ("wh", 1000, ())
