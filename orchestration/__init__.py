"""The supportops Dagster code location and CLI."""

import warnings

# Single-run backfill policies are "beta" in Dagster 1.13 but central to how this project
# runs; the warning, printed at every import, adds nothing for its users.
warnings.filterwarnings("ignore", message=r".* is currently in beta")
