"""The supportops Dagster code location and CLI."""

import warnings

# Single-run backfill policies are "beta" in Dagster 1.13, partitioned asset checks and
# mapping resolved asset specs (freshness policies) "preview", but all are central to how
# this project runs; the warnings, printed at every import, add nothing for its users.
warnings.filterwarnings("ignore", message=r".* is currently in (beta|preview)")
