"""The demo corpus: deterministic Esperanto-like text generated from roots, affixes and endings.

Esperanto's regular morphology (root + optional affixes + a grammatical ending) gives a tokenizer
real structure to find, which is what makes the demo useful for the whole journey offline. The
text is generated here from a small hand-written lexicon; nothing is copied from any source.

Speed comes from drawing words in bulk (`Random.choices` with cumulative weights) rather than one
random call per morpheme: 50,000+ lines and several MB are written in about a second.
"""

from __future__ import annotations

import itertools
import os
import random
from collections.abc import Iterator
from pathlib import Path

DEMO_FILE_NAME = "demo-esperanto.txt"
DEFAULT_LINES = 56_000
DEFAULT_SEED = 1887  # the year Esperanto was published

# Roots by the part of speech they most naturally take; affixes then move them between classes.
_NOUN_ROOTS = (
    "hom hund kat dom urb land lingv libr lern vort frat patr fil amik arb flor akv mar mont river "
    "strat lum sun nub vent tag nokt jar monat semajn horo ŝip aŭt vagon stacidom lernej ĉambr ĝarden "
    "ĉeval ŝtat reĝ popol vilaĝ kamp pan lakt viand frukt pom tabl seĝ fenestr pord mur tegment "
    "muzik kant poem rakont histori scienc naci kultur lok voj pont tur preĝej kastel insul golf "
    "ĥor ĵurnal ŝu ĉapel ĝentlem eĥ ŝlos ĉiel ter stel lun fajr ŝton fer or arĝent kupr vin bier "
    "kaf te suker sal mon prez merkat vendej labor metod problem demand respond ide sent pens"
).split()
_VERB_ROOTS = (
    "parol skrib leg ir ven hav far dir vid aŭd kur naĝ flug manĝ trink dorm labor lud kant "
    "pens kred sci pov vol dev am ŝat ĝu help trov perd konstru loĝ vojaĝ renkont komenc fin "
    "send ricev aĉet vend pag instru studi esplor kresk fal star sid kuŝ port ŝanĝ ĉes daŭr "
    "ĵet ŝir ĉerp ĝem eĥ ŝvit ĉas forges memor rigard aŭskult respond demand fermi malferm"
).split()
_ADJ_ROOTS = (
    "bon bel grand nov jun varm long alt riĉ fort rapid facil fru klar pur ĝust ĉarm ŝtal "
    "ruĝ blu verd flav blank nigr griz feliĉ trankvil sovaĝ hejm fremd antikv moderna simpl "
    "kar dolĉ akr sek malsek plen vast profund mol fid lert saĝ strang ĉef ĝeneral"
).split()
_PREFIXES = ("", "", "", "", "", "mal", "re", "ek", "dis", "ge", "bo", "pra", "for", "ĉef")
_NOUN_SUFFIXES = (
    "",
    "",
    "",
    "",
    "ul",
    "ej",
    "et",
    "eg",
    "ist",
    "in",
    "ar",
    "an",
    "ad",
    "ism",
    "aĵ",
    "ec",
    "il",
    "er",
)
_VERB_SUFFIXES = ("", "", "", "", "", "ig", "iĝ", "ad", "et", "eg", "ebl")
_ADJ_SUFFIXES = ("", "", "", "", "", "et", "eg", "ebl", "ind", "em")

_NOUN_ENDINGS = ("o", "o", "o", "oj", "on", "ojn")
_ADJ_ENDINGS = ("a", "a", "aj", "an", "ajn")
_VERB_ENDINGS = ("as", "as", "is", "is", "os", "us", "u", "i")

_SUBJECTS = ("mi", "vi", "li", "ŝi", "ĝi", "ni", "ili", "oni", "ĉiu", "neniu", "iu", "tiu", "kiu")
_PREPOSITIONS = (
    "en",
    "al",
    "de",
    "kun",
    "por",
    "sur",
    "sub",
    "apud",
    "el",
    "pri",
    "dum",
    "post",
    "antaŭ",
    "ĉe",
    "tra",
    "laŭ",
    "inter",
)
_CONJUNCTIONS = ("kaj", "sed", "aŭ", "ĉar", "kvankam", "tamen", "do", "ke", "kiam", "se")
_ADVERBS = (
    "tre",
    "ankaŭ",
    "ne",
    "jam",
    "ankoraŭ",
    "baldaŭ",
    "nun",
    "hodiaŭ",
    "morgaŭ",
    "ĉiam",
    "neniam",
    "eĉ",
    "nur",
    "preskaŭ",
    "tro",
    "ĉi tie",
    "tie",
)
_NAMES = (
    "Zamenhof",
    "Varsovio",
    "Bulonjo",
    "Parizo",
    "Berlino",
    "Kraków",
    "Ĝenevo",
    "Ĉeĥio",
    "Ŝanhajo",
    "Eŭropo",
    "Azio",
    "Afriko",
    "Ameriko",
    "Ludoviko",
    "Klara",
    "Ĵozefo",
    "Ŝarloto",
    "Ĥarbino",
    "Tokio",
    "Roterdamo",
    "Budapeŝto",
    "Reykjavík",
    "Helsinko",
    "Kopenhago",
    "Vieno",
    "Rio",
)
_TITLES = (
    "Enkonduko",
    "Historio",
    "Geografio",
    "Klimato",
    "Ekonomio",
    "Kulturo",
    "Loĝantaro",
    "Vidindaĵoj",
    "Literaturo",
    "Sporto",
    "Referencoj",
    "Vidu ankaŭ",
    "Eksteraj ligiloj",
    "Notoj",
)
_CLOSERS = (".", ".", ".", ".", ".", ".", "!", "?", "…")


def _lexicon(
    rng: random.Random, roots: list[str], prefixes: tuple[str, ...], suffixes: tuple[str, ...], size: int
) -> list[str]:
    """Stems (prefix + root + suffix) without endings, in a fixed order, so weights can be Zipfian."""
    stems = {root for root in roots}
    while len(stems) < size:
        stems.add(rng.choice(prefixes) + rng.choice(roots) + rng.choice(suffixes))
    ordered = sorted(stems)
    rng.shuffle(ordered)
    return ordered


def _zipf(n: int) -> list[float]:
    """Cumulative Zipf weights (s = 1.05), the shape of word frequencies in natural text."""
    return list(itertools.accumulate(1.0 / (rank**1.05) for rank in range(1, n + 1)))


class _Words:
    """Bulk-drawn word streams, refilled as they run out."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        nouns = _lexicon(rng, _NOUN_ROOTS, _PREFIXES, _NOUN_SUFFIXES, 2400)
        verbs = _lexicon(rng, _VERB_ROOTS, _PREFIXES, _VERB_SUFFIXES, 900)
        adjs = _lexicon(rng, _ADJ_ROOTS, _PREFIXES, _ADJ_SUFFIXES, 700)
        self._pools: dict[str, tuple[list[str], list[float]]] = {
            "noun": (nouns, _zipf(len(nouns))),
            "verb": (verbs, _zipf(len(verbs))),
            "adj": (adjs, _zipf(len(adjs))),
        }
        self._streams: dict[str, Iterator[str]] = {}

    def next(self, kind: str) -> str:
        stream = self._streams.get(kind)
        if stream is not None:
            word = next(stream, None)
            if word is not None:
                return word
        pool, cum = self._pools[kind]
        self._streams[kind] = iter(self.rng.choices(pool, cum_weights=cum, k=20_000))
        return next(self._streams[kind])


def _number(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.35:
        return str(rng.randint(1800, 2030))  # years
    if kind < 0.7:
        return str(rng.randint(2, 999))
    if kind < 0.85:
        return f"{rng.randint(0, 99)},{rng.randint(0, 9)}"  # Esperanto decimal comma
    return f"{rng.randint(1, 99)} {rng.randint(100, 999)}"  # thousands with a space


def _sentence(rng: random.Random, words: _Words) -> str:
    parts: list[str] = []
    r = rng.random()
    if r < 0.45:
        parts.append("La")
        if rng.random() < 0.5:
            parts.append(words.next("adj") + "a")
        parts.append(words.next("noun") + "o")
    elif r < 0.8:
        parts.append(rng.choice(_SUBJECTS).capitalize())
    else:
        parts.append(rng.choice(_NAMES))
    if rng.random() < 0.3:
        parts.append(rng.choice(_ADVERBS))
    parts.append(words.next("verb") + rng.choice(_VERB_ENDINGS))
    if rng.random() < 0.7:
        plural = rng.random() < 0.3
        if rng.random() < 0.5:
            parts.append(words.next("adj") + ("ajn" if plural else "an"))
        parts.append(words.next("noun") + ("ojn" if plural else "on"))
    for _ in range(rng.choice((0, 0, 1, 1, 1, 2, 3))):
        parts.append(rng.choice(_PREPOSITIONS))
        if rng.random() < 0.15:
            parts.append(_number(rng))
            parts.append(words.next("noun") + "oj")
        elif rng.random() < 0.2:
            parts.append(rng.choice(_NAMES))
        else:
            parts.append("la")
            if rng.random() < 0.35:
                parts.append(words.next("adj") + "a")
            parts.append(words.next("noun") + "o")
    if rng.random() < 0.25:
        parts[-1] += ","
        parts.append(rng.choice(_CONJUNCTIONS))
        parts.append(rng.choice(_SUBJECTS))
        parts.append(words.next("verb") + rng.choice(_VERB_ENDINGS))
        parts.append(words.next("adj") + "e")
    text = " ".join(parts)
    if rng.random() < 0.06:
        text = f"«{text}»"
    if rng.random() < 0.04:
        text += f" ({rng.choice(_NAMES)}, {_number(rng)})"
    return text + rng.choice(_CLOSERS)


def iter_demo_lines(n_lines: int = DEFAULT_LINES, seed: int = DEFAULT_SEED) -> Iterator[str]:
    """Yield the demo corpus one line (document) at a time, without newlines."""
    rng = random.Random(seed)
    words = _Words(rng)
    for _ in range(n_lines):
        r = rng.random()
        if r < 0.08:
            yield rng.choice(_TITLES)  # short heading-like lines
        elif r < 0.16:
            yield f"{rng.choice(_NAMES)} — {words.next('noun')}o {rng.choice(_PREPOSITIONS)} {_number(rng)}"
        elif r < 0.74:
            yield _sentence(rng, words)
        elif r < 0.995:
            yield " ".join(_sentence(rng, words) for _ in range(rng.randint(2, 9)))  # paragraphs
        else:
            yield ""  # the odd empty line, as in real dumps


def write_demo_corpus(path: str | Path, n_lines: int = DEFAULT_LINES, seed: int = DEFAULT_SEED) -> Path:
    """Write the demo corpus atomically (a temporary file renamed into place) and return its path."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as out:
            batch: list[str] = []
            for line in iter_demo_lines(n_lines, seed):
                batch.append(line)
                if len(batch) >= 4096:
                    out.write("\n".join(batch) + "\n")
                    batch.clear()
            if batch:
                out.write("\n".join(batch) + "\n")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
