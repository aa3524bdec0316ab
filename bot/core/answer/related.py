"""Related wording for fact questions: a question term also looks for its WordNet relatives.

"What did A agree with B?" is answered by "A reached an agreement with B", and
"who negotiated ...?" by "... the talks brokered by ...". Stems join
negotiated/negotiations but not agree/agreement. ``data/related_words.tsv``
holds, per stem, the stems WordNet 3.0 relates to it (derivational links,
pertainyms, noun and verb synonyms, and the hypernyms of a word's first sense:
"challenged ... right" meets "claim", "given to" meets "awarded to"), generated
once by ``tools/make_related_words.py``; this module only reads it (no WordNet at
run time).

A relative is weaker evidence than the word itself (it may be another sense:
"die" relates to "dice"), so the ranker counts it at ``related_weight`` of an
exact match. It is applied to the question only, so the index and its
fingerprint do not depend on the table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from importlib import resources

TABLE_FILE = "related_words.tsv"


@cache
def related_table() -> dict[str, tuple[str, ...]]:
    """Stem -> related stems, read once from the bundled data file."""
    text = resources.files("bot.core").joinpath(f"data/{TABLE_FILE}").read_text("utf-8")
    table: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            stem, _, others = line.partition("\t")
            table[stem] = tuple(others.split())
    return table


def relatives(key: Iterable[str], known: Callable[[str], bool]) -> tuple[tuple[str, str], ...]:
    """(relative, the key term it stands for) for each relative some article has.

    A relative that is itself a key term is left out: it counts as itself. Sorted, so
    that sums over relatives are made in the same order in every process.
    """
    terms = set(key)
    table = related_table()
    found = {
        (other, term)
        for term in terms
        for other in table.get(term, ())
        if other not in terms and known(other)
    }
    return tuple(sorted(found))
