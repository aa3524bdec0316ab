"""Generate ``bot/core/data/related_words.tsv`` from the WordNet 3.0 database, once.

Fact questions word things differently from the articles that answer them: "who
negotiated ..." against "negotiations brokered by ...", "what did A agree with B"
against "reached an agreement with B". The Snowball stems the index uses join some
of these (negotiated/negotiation) but not others (agree/agreement). WordNet, a
well-kept lexical resource, links a word to its derivational family
(agree -> agreement) across parts of speech; this script turns those links into a
table of *stems*, as the tokenizer makes them, so that the question side can look
for a sentence's related wording at a lower weight than its own words.

Kept deliberately narrow, because every extra pair is a chance of a wrong match:

* derivational links of every sense of a word (morphology: agree/agreement,
  negotiate/negotiator, decide/decision), between single words only;
* the pertainym links of adjectives, to the noun each pertains to ("European" to
  "Europe", "economic" to "economy"): a question's adjective and an article's noun;
* synonyms: the words of any noun or verb synset (challenge/dispute, give/award,
  claim/title); a question and its answer use the same sense, and a shared sense is
  what a synset is;
* the direct hypernyms of a word's first (most frequent) noun or verb sense, which
  joins a word to the wider one a writer uses instead (colonize/settle,
  physician/doctor's "medical practitioner") and, both ways, a wider word to the
  commonest narrower ones: only the first sense, since a rare sense's parent is a
  wrong match far more often than a right one;
* pairs whose stems are equal (already joined) or shorter than three letters are left out.

The database is Debian's ``wordnet-base`` (``apt-get install wordnet-base``: files in
``/usr/share/wordnet``), opened with NLTK's ``WordNetCorpusReader``. Debian's copy lacks
the ``lexnames`` file the reader opens first, so it is written from the ``lexnames(5WN)``
manual page the package ships. Nothing here runs at bot run time: the bot reads the
generated file. The WordNet licence is ``bot/core/data/WORDNET_LICENSE``.

    .venv/bin/python tools/make_related_words.py [--wordnet /usr/share/wordnet]
"""

from __future__ import annotations

import argparse
import gzip
import re
import shutil
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import nltk.data
from nltk.corpus.reader import WordNetCorpusReader

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.index.tokenize import Tokenizer  # noqa: E402

OUT = ROOT / "bot" / "core" / "data" / "related_words.tsv"
MANPAGE = Path("/usr/share/man/man5/lexnames.5WN.gz")
POS_NUMBER = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}
_WORD = re.compile(r"[a-z]{3,}")


class _LocalWordNet(WordNetCorpusReader):
    """The reader without its mapping to NLTK's own downloadable WordNet (never fetched here)."""

    def map_wn(self, version: str = "wordnet") -> None:
        return None


def reader(wordnet: Path, scratch: Path) -> WordNetCorpusReader:
    """NLTK's reader over a copy of Debian's files, with the ``lexnames`` file it lacks."""
    for name in wordnet.iterdir():
        if name.is_file():  # copied: NLTK refuses links that leave its data root
            shutil.copyfile(name, scratch / name.name)
    lines = gzip.decompress(MANPAGE.read_bytes()).decode("utf-8", "replace").splitlines()
    with (scratch / "lexnames").open("w", encoding="utf-8") as out:
        for line in lines:
            found = re.match(r"^(\d\d)\s+((adj|adv|noun|verb)\.\w+)", line)
            if found:
                out.write(f"{found[1]}\t{found[2]}\t{POS_NUMBER[found[3]]}\n")
    nltk.data.path.append(str(scratch))  # NLTK reads only from its allowed data roots
    return _LocalWordNet(str(scratch), None)


def pairs(wn: WordNetCorpusReader) -> set[tuple[str, str]]:
    """Related single words: derivational links, pertainyms, synonyms, first-sense hypernyms."""
    found: set[tuple[str, str]] = set()
    for synset in wn.all_synsets():
        if synset.pos() in "as":
            # A relational adjective and the noun it pertains to: European/Europe,
            # Mongolian/Mongolia, economic/economy, atomic/atom.
            for lemma in synset.lemmas():
                for other in lemma.pertainyms():
                    if other.synset().pos() == "n":
                        found.add((lemma.name().lower(), other.name().lower()))
            continue
        if synset.pos() not in "nv":
            continue
        for lemma in synset.lemmas():
            word = lemma.name().lower()
            for other in lemma.derivationally_related_forms():
                if other.synset().pos() in "nv":
                    found.add((word, other.name().lower()))
            found.update((word, other.name().lower()) for other in synset.lemmas())
            if wn.synsets(word, synset.pos())[:1] == [synset]:  # the word's first sense
                for parent in synset.hypernyms():
                    found.update((word, other.name().lower()) for other in parent.lemmas())
    return {(a, b) for a, b in found if _WORD.fullmatch(a) and _WORD.fullmatch(b)}


def stem_table(words: set[tuple[str, str]]) -> dict[str, set[str]]:
    """The pairs as stems the index uses, both ways, equal stems left out."""
    stem = Tokenizer().stem
    table: dict[str, set[str]] = defaultdict(set)
    for a, b in words:
        sa, sb = stem(a), stem(b)
        if sa != sb and len(sa) >= 3 and len(sb) >= 3:
            table[sa].add(sb)
            table[sb].add(sa)
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    args = parser.parse_args()
    if not (args.wordnet / "data.noun").exists() or not MANPAGE.exists():
        print(f"WordNet not found in {args.wordnet}: apt-get install wordnet-base")
        return 1
    with tempfile.TemporaryDirectory(prefix="wordnet-") as scratch:
        table = stem_table(pairs(reader(args.wordnet, Path(scratch))))
    header = (
        "# Related word stems from WordNet 3.0 (derivational links; adjectives' pertainyms;\n"
        "# noun and verb synonyms; the hypernyms of a word's first noun or verb sense).\n"
        "# Generated by tools/make_related_words.py; do not edit. Licence: WORDNET_LICENSE.\n"
        "# Used by bot/core/answer/related.py: a question term also looks for these stems,\n"
        "# weighed below an exact match. One line a stem: the stem, a tab, its related stems.\n"
    )
    rows = [f"{s}\t{' '.join(sorted(table[s]))}" for s in sorted(table)]
    OUT.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    print(f"wrote {OUT}: {len(rows)} stems, {sum(map(len, table.values()))} links")
    return 0


if __name__ == "__main__":
    sys.exit(main())
