"""`sources.yml` and the `supportops sources` commands that read it.

The export is the hand-built Zendesk one of test_zendesk_fivetran (known tickets and days);
this file checks the configuration layer: entries validated with the file, entry and key
named, `sources load` loading every configured source and reporting changed days, and the
listing showing each landing source's kind and sync watermark."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import orchestration.settings as settings_module
from extracts.sources.config import load_sources
from extracts.sources.zendesk_fivetran import ZendeskFivetranConfig
from orchestration.cli import app
from tests.test_zendesk_fivetran import _hand_export


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_entries_resolve_paths_and_build_the_kind_config(tmp_path: Path) -> None:
    file = _write(
        tmp_path / "sources.yml",
        "sources:\n  - kind: zendesk_fivetran\n    path: exports/zd\n"
        "    mapping: {bot_user_ids: [7], default_priority: low}\n",
    )
    [spec] = load_sources(file)
    assert (spec.kind, spec.path, spec.landing_source) == (
        "zendesk_fivetran",
        tmp_path / "exports" / "zd",
        "helpdesk",
    )
    assert spec.config == ZendeskFivetranConfig(bot_user_ids=("7",), default_priority="low")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources: {}\n", "expected a top-level `sources:` list"),
        ("sources:\n  - kind: zendesk\n    path: x\n", "entry 1: kind 'zendesk' is not one of"),
        ("sources:\n  - kind: zendesk_fivetran\n", "entry 1: path is missing"),
        (
            "sources:\n  - kind: zendesk_fivetran\n    path: x\n    mapping: {bot_users: [1]}\n",
            "entry 1 (zendesk_fivetran) mapping: unknown zendesk_fivetran settings ['bot_users']",
        ),
        (
            "sources:\n  - {kind: zendesk_fivetran, path: a}\n  - {kind: zendesk_fivetran, path: b}\n",
            "both feed the helpdesk landing source",
        ),
        ("sources:\n  - {kind: zendesk_fivetran, path: a, schedule: daily}\n", "unknown keys"),
    ],
)
def test_a_wrong_entry_names_the_file_entry_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    file = _write(tmp_path / "sources.yml", text)
    with pytest.raises(ValueError, match=r"sources\.yml") as error:
        load_sources(file)
    assert message in str(error.value)


def test_load_and_list_the_configured_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hand_export(tmp_path / "exports" / "zendesk")
    file = _write(
        tmp_path / "sources.yml",
        "sources:\n  - kind: zendesk_fivetran\n    path: exports/zendesk\n",
    )
    settings = dataclasses.replace(
        settings_module.settings,
        sources_file=file,
        landing_dir=tmp_path / "landing",
        data_dir=tmp_path,
    )
    monkeypatch.setattr(settings_module, "settings", settings)
    runner = CliRunner()

    first = runner.invoke(app, ["sources", "load"], terminal_width=200)
    assert first.exit_code == 0, first.output
    out = " ".join(first.output.split())
    assert "zendesk_fivetran: 3 tickets and 22 events" in out
    assert "6 day(s) changed, 2026-05-04..2026-05-09" in out
    again = runner.invoke(app, ["sources", "load"], terminal_width=200)
    assert "nothing changed since the last load" in " ".join(again.output.split())

    listing = runner.invoke(app, ["sources", "--json"])
    assert listing.exit_code == 0, listing.output
    by_source = {s["landing_source"]: s for s in json.loads(listing.output)["sources"]}
    assert by_source["helpdesk"]["kind"] == "zendesk_fivetran"
    assert by_source["helpdesk"]["synced_through"] == "2026-05-10T02:00:00"
    assert by_source["helpdesk"]["days"] == ["2026-05-04", "2026-05-09"]
    assert by_source["crm"]["kind"] == "native"


def test_load_without_path_or_sources_file_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = dataclasses.replace(
        settings_module.settings, sources_file=tmp_path / "absent.yml", landing_dir=tmp_path
    )
    monkeypatch.setattr(settings_module, "settings", settings)
    result = CliRunner().invoke(app, ["sources", "load"])
    assert result.exit_code == 2
    assert "no PATH and no sources.yml" in result.output
