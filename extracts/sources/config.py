"""`sources.yml`: which connector export feeds each landing source, and its mapping knobs.

    sources:
      - kind: zendesk_fivetran          # see extracts.sources.KINDS
        path: /data/fivetran/zendesk    # a folder of connector tables, or a .duckdb file
        mapping:                        # the kind's knobs (its Config); all optional
          bot_user_ids: ["360001234567"]

Relative paths resolve against the file's folder. A landing source (helpdesk, crm,
telemetry) that no entry feeds keeps its native files (the generator's, or your own).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extracts.sources import KINDS, adapter


@dataclass(frozen=True)
class SourceSpec:
    kind: str
    path: Path
    config: Any
    """The kind's `Config`, built from the entry's `mapping`."""

    @property
    def landing_source(self) -> str:
        return adapter(self.kind).LANDING_SOURCE


def load_sources(file: str | Path) -> list[SourceSpec]:
    """The configured sources; ValueError naming the file, entry and key when one is wrong."""
    import yaml

    file = Path(file)
    try:
        data = yaml.safe_load(file.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{file}: not valid YAML ({exc})") from exc
    entries = data.get("sources") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f"{file}: expected a top-level `sources:` list")
    specs: list[SourceSpec] = []
    for number, entry in enumerate(entries, start=1):
        where = f"{file}: sources entry {number}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected a mapping with kind and path")
        unknown = sorted(set(entry) - {"kind", "path", "mapping"})
        if unknown:
            raise ValueError(f"{where}: unknown keys {unknown} (kind, path, mapping)")
        kind, path = entry.get("kind"), entry.get("path")
        if kind not in KINDS:
            raise ValueError(f"{where}: kind {kind!r} is not one of {list(KINDS)}")
        if not path:
            raise ValueError(f"{where}: path is missing")
        resolved = Path(path) if Path(path).is_absolute() else file.parent / path
        try:
            config = adapter(kind).Config.from_mapping(entry.get("mapping") or {})
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where} ({kind}) mapping: {exc}") from exc
        specs.append(SourceSpec(kind, resolved, config))
    fed: dict[str, str] = {}
    for spec in specs:
        if spec.landing_source in fed:
            raise ValueError(
                f"{file}: {fed[spec.landing_source]} and {spec.kind} both feed the "
                f"{spec.landing_source} landing source; keep one"
            )
        fed[spec.landing_source] = spec.kind
    return specs
