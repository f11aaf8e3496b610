"""Sentiment of support text: VADER's lexicon plus a support-domain phrase lexicon.

Ingestion scores free text in SQL (`sentiment_sql`, a set-based join of tokens against the
lexicon tables built here); `sentiment_score` is the same computation in Python, equal to
the SQL's score to the last digit, for tests and notebooks. Why not VADER alone: it is
English-only and misses support phrases ("won't load", "charged us twice"), and it reads
requests ("I'd like", "please help") as praise.

The rules, shared by both sides (the text's language comes from `extracts.language`):

- Tokens: lower-cased letter runs and clause breaks (`tokens_and_breaks`; in DuckDB
  `regexp_extract_all(lower(text), TOKEN_SQL)`), so "won't" is `won`, `t`. A phrase or a
  modifier's reach never crosses a break: "It doesn't work, frustrating" stays negative.
- Lexicon, per language: `DOMAIN[language]` (phrases of up to `MAX_PHRASE` tokens), over
  VADER's words (valence -4..4) for English only, since VADER read as Spanish, German or
  French scores "die" or "l" as words. A text in a language without a lexicon scores 0. At
  each position the entries that match count, except one inside a longer match ("best way"
  hides "best").
- Modifiers, among the `WINDOW` tokens before a match and not inside a matched phrase: a
  negator (`NEGATORS`) flips and damps it (x -0.74, VADER's factor); each booster or
  dampener (`BOOSTERS`) adds or takes `BOOST` from its magnitude. VADER's "but" rule: with a
  contrast word (`CONTRAST`) in the text, matches before the first one count half, after it
  1.5 times.
- Score: the valences' sum `s`, normalised like VADER's compound, `s / sqrt(s^2 + 15)`, in
  -1..1, rounded to 4 places; 0 without a match. Valences are summed as integers (`UNIT`)
  so SQL and Python agree exactly whatever the summation order.
"""

from __future__ import annotations

import itertools
import math
import re
from functools import cache
from importlib import resources

import duckdb
import pyarrow as pa
from vaderSentiment.vaderSentiment import BOOSTER_DICT, NEGATE

from extracts.language import DEFAULT_LANGUAGES, detect_languages

MAX_PHRASE = 4
WINDOW = 3
NEGATION_PERCENT = -74
BOOST = 293  # valence thousandths, VADER's B_INCR
ALPHA = 15.0
UNIT = 10_000_000  # valence thousandths x negation percent x contrast percent

# Support-domain lexicon, VADER's scale. 0 removes a word VADER scores where support text
# means nothing by it ("please help", "I'd like", "best regards").
DOMAIN: dict[str, dict[str, float]] = {
    "en": {
        # requests and courtesy, not sentiment
        "please": 0, "help": 0, "support": 0, "dear": 0, "free": 0, "share": 0, "credit": 0,
        "interest": 0, "matter": 0, "yes": 0, "ok": 0, "okay": 0, "fine": 0, "sorry": 0,
        "hope": 0, "hopefully": 0, "honestly": 0, "true": 0, "sure": 0, "restrict": 0, "thank you": 1.5, "want": 0, "kind": 0, "pretty": 0, "well": 0, "huge": 0,
        "would like": 0, "d like": 0, "like to": 0, "looks like": 0, "seems like": 0,
        "best way": 0, "best practice": 0, "best practices": 0, "best regards": 0,
        "kind regards": 0, "good morning": 0, "good afternoon": 0, "thanks in advance": 0,
        "thank you in advance": 0, "is it possible": 0, "no longer": 0, "no problem": 1.5,
        # outages and errors
        "won t load": -2.2, "doesn t load": -2.2, "does not load": -2.2, "not loading": -2.2,
        "isn t loading": -2.2, "won t open": -2.0, "can t log in": -1.8, "cannot log in": -1.8,
        "can t login": -1.8, "unable to log in": -1.8, "locked out": -1.8, "times out": -1.9,
        "timed out": -1.9, "timing out": -1.9, "timeouts": -1.6, "keeps crashing": -2.5,
        "crashes": -2.0, "crashed": -2.0, "crashing": -2.0, "freezes": -1.6, "is down": -2.2,
        "went down": -2.2, "outage": -2.4, "downtime": -2.2, "not working": -2.2,
        "isn t working": -2.2, "stopped working": -2.3, "doesn t work": -2.2,
        "does not work": -2.2, "didn t work": -2.0, "still broken": -2.5, "unusable": -2.6,
        "buggy": -1.9, "bug": -1.0, "blank page": -1.5, "data loss": -2.8, "lost data": -2.8,
        "every single time": -1.2, "stuck": -1.5, "slow": -1.4, "laggy": -1.6,
        "still not fixed": -2.4, "keeps failing": -2.4, "still failing": -2.4,
        # billing disputes
        "charged twice": -2.3, "charged us twice": -2.3, "charged me twice": -2.3,
        "double charged": -2.3, "overcharged": -2.3, "refund": -1.2, "chargeback": -2.2,
        "wrong invoice": -1.6, "still charging": -1.9, "charged": 0,
        # waiting
        "still waiting": -1.9, "no response": -2.0, "no reply": -2.0, "no answer": -1.9,
        "no update": -1.6, "no one": -1.0, "nobody": -1.2, "on hold": -1.3,
        "waiting for days": -2.2, "for days": -1.0, "for weeks": -1.2, "hung up": -2.2,
        "ignored": -1.8, "asap": -0.8, "urgent": -0.8,
        # cancellation
        "cancel": -1.6, "cancel our subscription": -2.6, "cancel my subscription": -2.6,
        "cancel our account": -2.6, "cancelling": -1.9, "canceling": -1.9, "we re done": -2.3,
        "switching to": -1.5, "competitor": -1.2, "not renewing": -2.2,
        # praise for a fix
        "works now": 2.2, "working again": 2.2, "works again": 2.2, "up and running": 1.9,
        "fixed it": 2.2, "fixed": 1.5, "sorted": 1.2, "all sorted": 1.9, "all good": 2.0,
        "solved": 1.8, "resolved": 1.5, "did the trick": 2.2, "quick fix": 2.0,
        "lifesaver": 2.6, "spot on": 2.0, "worked": 1.2, "works": 0.8, "quick": 1.0,
        "fast": 1.0, "reliable": 1.6, "smooth": 1.3,
    },
    "es": {
        "excelente": 2.8, "genial": 2.5, "gracias": 1.6, "muchas gracias": 2.2,
        "perfecto": 2.7, "rápido": 1.0, "rápida": 1.0, "bueno": 1.9, "buena": 1.9,
        "encantado": 2.3, "encantados": 2.3, "contento": 2.2, "contenta": 2.2, "contentos": 2.2,
        "feliz": 2.5, "útil": 1.8, "fantástico": 2.8, "maravilloso": 2.7, "fácil": 1.2,
        "resuelto": 1.5, "solucionado": 1.8, "agradecido": 1.9, "agradecida": 1.9,
        "estupendo": 2.5, "amable": 1.6, "eficiente": 1.6, "funciona": 1.0,
        "increíble": 2.5, "increíbles": 2.5, "satisfecho": 2.2, "ya funciona": 2.2,
        "vuelve a funcionar": 2.2, "funciona de nuevo": 2.2, "enhorabuena": 2.4,
        "frustrante": -2.2, "decepcionado": -2.2, "decepcionada": -2.2, "decepcionados": -2.2,
        "inaceptable": -2.7, "terrible": -2.5, "horrible": -2.6, "pésimo": -2.8,
        "pésima": -2.8, "malo": -1.9, "mala": -1.9, "lento": -1.4, "lenta": -1.4,
        "molesto": -1.9, "enfadado": -2.3, "enfadados": -2.3, "roto": -1.9, "inútil": -2.3,
        "peor": -2.0, "fallo": -1.6, "falla": -1.6, "ridículo": -2.3, "insatisfecho": -2.2,
        "desastre": -2.8, "harto": -2.2, "hartos": -2.2, "preocupado": -1.2, "confuso": -1.4,
        "lamentable": -2.5, "cancelar": -1.6, "dar de baja": -2.2, "darnos de baja": -2.2,
        "no funciona": -2.2, "no carga": -2.2, "sigue sin funcionar": -2.5,
        "sin respuesta": -2.0, "ninguna respuesta": -2.0, "cobrado dos veces": -2.3,
        "cobraron dos veces": -2.3, "cobro duplicado": -2.2, "se cae": -2.0, "caído": -2.0,
        "errores": -1.6, "bloqueado": -1.5, "seguimos esperando": -2.0, "esperando": -1.0,
        "perdiendo": -1.5, "urgente": -0.8, "reembolso": -1.2, "no": 0, "ayuda": 0,
        "por favor": 0,
    },
    "de": {
        "ausgezeichnet": 2.8, "toll": 2.5, "danke": 1.6, "vielen dank": 2.2, "perfekt": 2.7,
        "schnell": 1.0, "schnelle": 1.0, "schnellen": 1.0, "gut": 1.9, "gute": 1.9,
        "zufrieden": 2.2, "hilfreich": 2.2, "prima": 2.2, "wunderbar": 2.6, "begeistert": 2.6,
        "freundlich": 1.6, "gelöst": 1.6, "behoben": 1.6, "funktioniert": 1.0, "klasse": 2.2,
        "dankbar": 1.9, "zuverlässig": 1.6, "großartig": 2.8, "großartige": 2.8,
        "großartigen": 2.8, "hervorragend": 2.8, "hervorragende": 2.8, "hervorragenden": 2.8, "funktioniert wieder": 2.2,
        "läuft wieder": 2.2, "alles gut": 2.0, "weiter so": 2.0, "super": 2.2,
        "ärgerlich": -2.2, "enttäuscht": -2.2, "inakzeptabel": -2.7, "schrecklich": -2.7,
        "furchtbar": -2.7, "langsam": -1.3, "kaputt": -2.0, "nutzlos": -2.4,
        "schlecht": -2.0, "schlechter": -2.0, "verärgert": -2.2, "frustriert": -2.2,
        "frustrierend": -2.2, "unzufrieden": -2.2, "fehlerhaft": -1.6, "katastrophe": -2.8,
        "lächerlich": -2.4, "mangelhaft": -2.0, "verwirrend": -1.5, "sauer": -2.0,
        "unbrauchbar": -2.5, "kündigen": -1.9, "kündigung": -1.6, "zeitverschwendung": -2.3,
        "funktioniert nicht": -2.2, "funktioniert immer noch nicht": -2.5,
        "funktioniert noch immer nicht": -2.5, "lädt nicht": -2.2, "geht nicht": -2.0,
        "klappt nicht": -2.0, "läuft nicht": -2.0, "stürzt ab": -2.2, "ausfall": -2.2,
        "fehler": -1.5, "zeitüberschreitungen": -1.6, "doppelt abgebucht": -2.3,
        "doppelt belastet": -2.3, "zweimal abgebucht": -2.3, "keine antwort": -2.0,
        "keine rückmeldung": -2.0, "warten immer noch": -1.9, "warten seit": -1.5,
        "gesperrt": -1.2, "dringend": -0.8, "rückerstattung": -1.2, "hilfe": 0, "bitte": 0,
    },
    "fr": {
        "excellent": 2.8, "excellente": 2.8, "génial": 2.5, "géniaux": 2.5, "merci": 1.6,
        "merci beaucoup": 2.2, "parfait": 2.7, "rapide": 1.0, "bien": 1.2, "content": 2.2,
        "contente": 2.2, "contents": 2.2, "ravi": 2.5, "ravie": 2.5, "ravis": 2.5,
        "utile": 1.8, "formidable": 2.6, "facile": 1.2, "résolu": 1.6, "réglé": 1.6,
        "efficace": 1.6, "agréable": 1.9, "impeccable": 2.5, "satisfait": 2.2,
        "satisfaite": 2.2, "fonctionne": 1.0, "magnifique": 2.6, "fonctionne à nouveau": 2.2,
        "ça marche": 1.8, "super": 2.2, "frustrante": -2.2, "rentré dans l ordre": 2.0, "frustrant": -2.2, "déçu": -2.2, "déçue": -2.2, "déçus": -2.2,
        "inacceptable": -2.7, "horrible": -2.7, "nul": -2.4, "nulle": -2.4, "lent": -1.3,
        "lente": -1.3, "mauvais": -1.9, "mauvaise": -1.9, "énervé": -2.2, "cassé": -1.9,
        "inutile": -2.2, "pire": -2.4, "panne": -1.8, "en panne": -2.2,
        "toujours en panne": -2.5, "ridicule": -2.4, "mécontent": -2.2, "insatisfait": -2.2,
        "agacé": -1.9, "catastrophique": -2.7, "déplorable": -2.7, "compliqué": -1.2,
        "inadmissible": -2.7, "résilier": -1.9, "ne fonctionne pas": -2.2,
        "ne marche pas": -2.2, "ne charge pas": -2.2, "ne fonctionne plus": -2.3,
        "ne marche plus": -2.3, "ne tourne plus": -2.0, "facturés deux fois": -2.3,
        "facturé deux fois": -2.3, "double facturation": -2.2, "aucune réponse": -2.0,
        "pas de réponse": -2.0, "sans réponse": -2.0, "attendons toujours": -1.9,
        "erreur": -1.5, "erreurs": -1.5, "plante": -1.8, "bloqué": -1.3, "bloqués": -1.3,
        "perdons": -1.3, "urgent": -0.8, "remboursement": -1.2, "aide": 0,
    },
}  # fmt: skip

# Negators, intensifiers and contrast words per language; English negators and boosters are
# VADER's (letters only), with `t` for the n't of "won't" as tokenised here.
NEGATORS: dict[str, frozenset[str]] = {
    "en": frozenset({w for w in NEGATE if w.isalpha() and w != "despite"} | {"t", "no", "nobody"}),
    "es": frozenset({"no", "nunca", "jamás", "ni", "sin", "tampoco", "nada"}),
    "de": frozenset(
        {"nicht", "kein", "keine", "keinen", "keinem", "keiner", "nie", "niemals", "nichts"}
    ),
    "fr": frozenset({"ne", "n", "pas", "jamais", "rien", "aucun", "aucune", "sans"}),
}
BOOSTERS: dict[str, dict[str, int]] = {
    "en": {w: round(v * 1000) for w, v in BOOSTER_DICT.items() if w.isalpha()},
    "es": {
        **dict.fromkeys(("muy", "realmente", "totalmente", "tan", "extremadamente",
                         "sumamente", "completamente", "demasiado"), BOOST),
        **dict.fromkeys(("poco", "algo"), -BOOST),
    },
    "de": {
        **dict.fromkeys(("sehr", "wirklich", "total", "extrem", "völlig", "echt", "absolut",
                         "äußerst", "besonders", "so"), BOOST),
        **dict.fromkeys(("etwas", "kaum"), -BOOST),
    },
    "fr": {
        **dict.fromkeys(("très", "vraiment", "tellement", "totalement", "complètement",
                         "extrêmement", "trop", "absolument", "hyper"), BOOST),
        **dict.fromkeys(("peu", "assez"), -BOOST),
    },
}  # fmt: skip
CONTRAST: dict[str, str] = {"en": "but", "es": "pero", "de": "aber", "fr": "mais"}
"""VADER's "but" rule: matches before the first contrast word count half, after it 1.5x."""
LANGUAGES = tuple(DOMAIN)

_WORD = re.compile(r"[^\W\d_]+")
_TOKEN = re.compile(r"[^\W\d_]+|[.,;:!?]")
TOKEN_SQL = r"'\p{L}+|[.,;:!?]'"
BREAKS = frozenset(".,;:!?")


def tokenize(text: str) -> list[str]:
    """Lower-cased letter runs."""
    return _WORD.findall(text.lower())


def tokens_and_breaks(text: str) -> list[str]:
    """Letter runs and clause breaks (`BREAKS`): the tokenisation the SQL side reproduces."""
    return _TOKEN.findall(text.lower())


def _vader_words() -> dict[str, float]:
    text = resources.files("vaderSentiment").joinpath("vader_lexicon.txt").read_text("utf-8")
    words: dict[str, float] = {}
    for line in text.splitlines():
        token, valence = line.split("\t")[:2]
        if token.isalpha() and token == token.lower():
            words[token] = float(valence)
    return words


@cache
def lexicon() -> dict[str, dict[tuple[str, ...], int]]:
    """Per language, token sequence -> valence in thousandths (VADER's words are English).

    Modifiers are left out; so are zero single words, while a zero phrase stays: it still
    hides the words inside it ("best way" hides "best")."""
    by_language: dict[str, dict[tuple[str, ...], int]] = {}
    for language, domain in DOMAIN.items():
        merged = {**_vader_words(), **domain} if language == "en" else domain
        modifiers = NEGATORS[language] | set(BOOSTERS[language]) | {CONTRAST[language]}
        entries = {}
        for phrase, valence in merged.items():
            tokens = tuple(tokenize(phrase))
            milli = round(valence * 1000)
            if len(tokens) > 1 or (milli != 0 and tokens[0] not in modifiers):
                entries[tokens] = milli
        by_language[language] = entries
    return by_language


def _round4(value: float) -> float:
    """DuckDB's round(x, 4): half away from zero."""
    return math.copysign(math.floor(abs(value) * 10_000 + 0.5), value) / 10_000


def sentiment_score(text: str, language: str | None = None) -> float:
    """The ingestion SQL's sentiment of `text`, in -1..1 (0 without a lexicon match).

    `language`: its ISO 639-1 code, as ingestion detected it; None detects it here among
    `DEFAULT_LANGUAGES`. A language without a lexicon scores 0."""
    if language is None:
        language = detect_languages([text], DEFAULT_LANGUAGES)[0]
    lex = lexicon().get(language)
    if not lex:
        return 0.0
    tokens = tokens_and_breaks(text)
    clause = list(itertools.accumulate(t in BREAKS for t in tokens))
    matches = [
        (start, n, lex[tuple(tokens[start : start + n])])
        for start in range(len(tokens))
        for n in range(1, MAX_PHRASE + 1)
        if start + n <= len(tokens) and tuple(tokens[start : start + n]) in lex
    ]
    kept = [
        (s, n, v)
        for s, n, v in matches
        if not any(n2 > n and s2 <= s and s2 + n2 >= s + n for s2, n2, _ in matches)
    ]
    covered = {p for s, n, _ in kept if n > 1 for p in range(s, s + n)}
    free = [p for p in range(len(tokens)) if p not in covered]
    contrast = next((p for p in free if tokens[p] == CONTRAST[language]), None)
    total = 0
    for start, _, valence in kept:
        window = [
            tokens[p] for p in free if start - WINDOW <= p < start and clause[p] == clause[start]
        ]
        boost = sum(BOOSTERS[language].get(w, 0) for w in window)
        negated = any(w in NEGATORS[language] for w in window)
        total += (
            (valence + ((valence > 0) - (valence < 0)) * boost)
            * (NEGATION_PERCENT if negated else 100)
            * (100 if contrast is None else 50 if start < contrast else 150)
        )
    if not kept:
        return 0.0
    x = total / float(UNIT)
    return _round4(x / math.sqrt(x * x + ALPHA))


@cache
def lexicon_tables() -> tuple[pa.Table, pa.Table]:
    """`_lexicon` (language, t1..t4, n, valence) and `_lexicon_modifiers` (language, token,
    negates, boost, contrast) as Arrow tables."""
    entries = [
        (language, tokens, valence)
        for language, words in lexicon().items()
        for tokens, valence in words.items()
    ]
    lex = pa.table(
        {
            "language": [e[0] for e in entries],
            **{
                f"t{i + 1}": [e[1][i] if i < len(e[1]) else None for e in entries]
                for i in range(MAX_PHRASE)
            },
            "n": pa.array([len(e[1]) for e in entries], pa.int32()),
            "valence": pa.array([e[2] for e in entries], pa.int64()),
        }
    )
    rows = [
        (language, token, token in NEGATORS[language], BOOSTERS[language].get(token, 0),
         token == CONTRAST[language])
        for language in LANGUAGES
        for token in sorted(NEGATORS[language] | set(BOOSTERS[language]) | {CONTRAST[language]})
    ]  # fmt: skip
    modifiers = pa.table(
        {
            "language": [r[0] for r in rows],
            "token": [r[1] for r in rows],
            "negates": [r[2] for r in rows],
            "boost": pa.array([r[3] for r in rows], pa.int64()),
            "contrast": [r[4] for r in rows],
        }
    )
    return lex, modifiers


def load_lexicon_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the temp tables `_lexicon` and `_lexicon_modifiers` that `sentiment_sql` reads."""
    for name, table in zip(("_lexicon", "_lexicon_modifiers"), lexicon_tables(), strict=True):
        con.register(f"{name}_arrow", table)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
        con.unregister(f"{name}_arrow")


def sentiment_sql(texts: str) -> str:
    """A query of (text_id, sentiment) for every row of `texts` (text_id, text, language).

    Reads the tables `load_lexicon_tables` creates; the same rules as `sentiment_score`."""
    return f"""
        WITH split AS (
            SELECT text_id, language, regexp_extract_all(lower(text), {TOKEN_SQL}) AS t
            FROM {texts}),
        tok AS (
            SELECT text_id, language, unnest(t) AS token, unnest(range(1, len(t) + 1)) AS pos
            FROM split),
        seq AS (
            SELECT text_id, language, pos, token,
                   lead(token, 1) OVER w AS l1, lead(token, 2) OVER w AS l2,
                   lead(token, 3) OVER w AS l3,
                   sum(CASE WHEN token IN ({", ".join(f"'{b}'" for b in sorted(BREAKS))}) THEN 1 ELSE 0 END)
                       OVER w AS clause
            FROM tok
            WINDOW w AS (PARTITION BY text_id ORDER BY pos)),
        matches AS (
            SELECT s.text_id, s.pos, s.clause, x.n, x.valence
            FROM seq s JOIN _lexicon x ON x.language = s.language AND x.t1 = s.token
            WHERE (x.n < 2 OR x.t2 = s.l1) AND (x.n < 3 OR x.t3 = s.l2)
              AND (x.n < 4 OR x.t4 = s.l3)),
        kept AS (
            SELECT * FROM matches m
            WHERE NOT EXISTS (
                SELECT 1 FROM matches o
                WHERE o.text_id = m.text_id AND o.n > m.n AND o.pos <= m.pos
                  AND o.pos + o.n >= m.pos + m.n)),
        modifiers AS (
            SELECT s.text_id, s.pos, s.clause, d.negates, d.boost, d.contrast
            FROM seq s JOIN _lexicon_modifiers d USING (language, token)
            WHERE NOT EXISTS (
                SELECT 1 FROM kept k
                WHERE k.text_id = s.text_id AND k.n > 1
                  AND s.pos BETWEEN k.pos AND k.pos + k.n - 1)),
        contrast AS (
            SELECT text_id, min(pos) AS contrast_pos FROM modifiers WHERE contrast GROUP BY text_id),
        scored AS (
            SELECT k.text_id,
                   (k.valence + sign(k.valence) * coalesce(sum(d.boost), 0))
                   * CASE WHEN bool_or(d.negates) THEN {NEGATION_PERCENT} ELSE 100 END
                   * CASE WHEN c.contrast_pos IS NULL THEN 100
                          WHEN k.pos < c.contrast_pos THEN 50 ELSE 150 END AS valence
            FROM kept k
            LEFT JOIN modifiers d
              ON d.text_id = k.text_id AND d.pos BETWEEN k.pos - {WINDOW} AND k.pos - 1
             AND d.clause = k.clause
            LEFT JOIN contrast c ON c.text_id = k.text_id
            GROUP BY k.text_id, k.pos, k.n, k.valence, c.contrast_pos),
        summed AS (
            SELECT text_id, sum(valence)::DOUBLE / {float(UNIT)}::DOUBLE AS x
            FROM scored GROUP BY text_id)
        SELECT t.text_id, coalesce(round(x / sqrt(x * x + {ALPHA}::DOUBLE), 4), 0.0) AS sentiment
        FROM {texts} t LEFT JOIN summed USING (text_id)"""
