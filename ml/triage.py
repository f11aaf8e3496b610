"""The triage policy's actions, in a module without model imports: the Review page and the
CLI filter by them without loading scikit-learn (ml/policy.py decides them)."""

ACTIONS = ("senior_review", "human_approval", "bot_answer", "route")
FLAGS = ("senior_review", "human_approval")
"""Actions that put a person before the ticket: measured as flags against escalations."""
