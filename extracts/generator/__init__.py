"""Synthetic landing extracts for supportops: helpdesk, CRM and telemetry, with planted truth.

`generate(config, out_dir)` simulates a customer base day by day and writes every landing
file in the shapes of `extracts.contracts`, plus `truth/` (latent churn probabilities and
labels, escalation probabilities and labels, the fault manifest) for tests and model
evaluation. The pipeline never reads `truth/`.
"""

from extracts.generator.config import SCALES, GenerationSummary, GeneratorConfig
from extracts.generator.core import generate

__all__ = ["SCALES", "GenerationSummary", "GeneratorConfig", "generate"]
