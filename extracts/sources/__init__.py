"""Source adapters: connector exports mapped onto the native landing contracts.

Each adapter is a module `extracts.sources.<kind>` exposing:

- `KIND` and `LANDING_SOURCE`: its name and the native landing folder it writes
  (`helpdesk`, `crm` or `telemetry`);
- `Config`: its mapping knobs, a frozen dataclass on `connector.MappingConfig`;
- `check_export(source, config) -> connector.CheckReport`: can this export be loaded, and
  which metrics will it lack;
- `convert_to_landing(source, landing_dir, config)`: the export mapped onto
  `<landing_dir>/<LANDING_SOURCE>/<day>/`; the result has `first_day`, `last_day`,
  `synced_through` and `summary()`.

`extracts.generator.<kind>.write(native_landing, out)` writes a generated world in the
connector's shape, so every adapter is tested against the native run of the same world.
"""

from __future__ import annotations

import importlib
from types import ModuleType

KINDS = ("zendesk_fivetran", "salesforce_fivetran")


def adapter(kind: str) -> ModuleType:
    """The adapter module of a source kind; ValueError naming the known kinds otherwise."""
    if kind not in KINDS:
        raise ValueError(f"unknown source kind {kind!r}; choose from {list(KINDS)}")
    return importlib.import_module(f"extracts.sources.{kind}")
