"""Language of support text, by lingua (its n-gram models ship inside the wheel).

Ingestion detects once per distinct text of a load, in one parallel batch, and joins the
result back: ticket texts repeat (templates, macros, "Any update?"), so this costs a small
share of a load. The candidate languages come from settings (`SUPPORTOPS_TEXT_LANGUAGES`);
fewer candidates make detection faster and short texts more reliable.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from lingua import IsoCode639_1, LanguageDetector, LanguageDetectorBuilder

DEFAULT_LANGUAGES = ("en", "es", "de", "fr")
"""The generator's languages; settings (`SUPPORTOPS_TEXT_LANGUAGES`) choose others."""
DETECT_CHARS = 300
"""Detection reads a text's first 300 characters: enough to tell these languages apart, and
it bounds the cost of long emails (lingua's time grows with the text)."""
UNDETERMINED = "und"
"""ISO 639's code for a text without a detectable language (no letters, or too short)."""


@cache
def detector(languages: tuple[str, ...]) -> LanguageDetector:
    """A detector for these ISO 639-1 codes (built once per set of codes)."""
    if len(languages) < 2:
        raise ValueError(f"language detection needs at least two languages, got {languages!r}")
    codes = []
    for code in languages:
        try:
            codes.append(IsoCode639_1.from_str(code))
        except ValueError as exc:
            raise ValueError(f"unknown ISO 639-1 language code {code!r}") from exc
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()


def detect_languages(texts: Sequence[str], languages: tuple[str, ...]) -> list[str]:
    """ISO 639-1 code per text (`und` when undecided), detected in parallel on its start."""
    found = detector(languages).detect_languages_in_parallel_of(
        [text[:DETECT_CHARS] for text in texts]
    )
    return [UNDETERMINED if lang is None else lang.iso_code_639_1.name.lower() for lang in found]
