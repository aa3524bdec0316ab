"""PolNeAR speaker questions in many shapes: does the bot hold up when users ask differently?

``eval_polnear.py`` asks one shape, "What did X say?". Users also ask "What did
X say about Y?", "How did X respond to Y?", "What is X's position on Y?", "Did X
comment on Y?", "What did the spokesman say?" and use a full name or a surname.
This script turns the split's attributions into every one of those shapes and
scores each on its own, so no shape is tuned by looking at one question.

Who X is, and the entities asked about: as in ``eval_polnear`` (its ``names``
and ``Casing`` are reused). Per entity with at least two attributions:

- ``say``: "What did X say?" (X the entity's shortest form; eval_polnear's set);
- ``full name``: "What did <longest form> say?" when a longer form exists
  ("Donald J. Trump"); ``surname``: "What did <last word> say?" for every
  speaker with a name of more than one word ("Kaine" for "Tim Kaine", whether or not
  the articles also write "Kaine" alone; see ``_surname``);
- with a topic Y: ``say about``, ``respond``, ``position``, ``comment``.
  Y is the run of capitalised words (names mid-sentence in the split, ``Casing``)
  that most of X's content spans hold, not X's own names nor a day or month; the gold is then
  only X's attributions whose content holds Y.
- ``role``: "What did the <role> say?" where role is the head noun of
  descriptive sources ("a campaign spokesman" -> spokesman, "senior officials"
  -> officials, "the Trump campaign" -> campaign; for "X for/of Y", the word
  before the preposition), asked for every head with at least
  ``ROLE_MIN_ATTRIBUTIONS`` attributions in the split. Its gold is every source
  with that head, named or not, singular or plural: "The International Atomic
  Energy Agency said" answers "What did the agency say?".

A hit is a quote overlapping a gold content span in its own article; a shape's
``declined`` counts questions given no answer (every question here has one).

    python bench/polnear_shapes.py [--polnear PATH] [--split dev|train|test --final] [--top-k K]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import eval_common as ec
import eval_polnear as ep

# A date is no topic: nobody asks "what did X say about Friday?".
DATES = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april "
    "may june july august september october november december".split()
)
ROLE_MIN_ATTRIBUTIONS = 3  # a role asked about is the head of this many descriptive sources
_ROLE_PREPOSITIONS = frozenset({"for", "of", "to", "at", "with", "from", "in", "on"})
_WORD = re.compile(r"[A-Za-z][\w’'-]*")
_LETTERS = re.compile(r"[^a-z]")
# Shapes in the order they are printed; the topic ones take Y.
SHAPES = {
    "say": "What did {x} say?",
    "full name": "What did {x} say?",
    "surname": "What did {x} say?",
    "say about": "What did {x} say about {y}?",
    "respond": "How did {x} respond to {y}?",
    "position": "What is {x}'s position on {y}?",
    "comment": "Did {x} comment on {y}?",
    "role": "What did {x} say?",
}
TOPIC_SHAPES = ("say about", "respond", "position", "comment")
# The surname questions that are not also "say" questions (the articles never write the
# surname alone as the speaker's shortest name): printed as a row of their own.
NEW_SURNAME = "surname, not as say"


@dataclass(frozen=True)
class Said:
    """One attribution: who (entity keys, role head), what (content spans and text)."""

    keys: frozenset[str]
    role: str
    head: str  # the head noun of any source, named or not ("the Energy Agency" -> agency)
    content: tuple[tuple[int, int], ...]
    text: str


@dataclass(frozen=True)
class Question:
    """A generated question, its shape, and the attributions (by file) that answer it."""

    shape: str
    text: str
    gold: dict[str, tuple[Said, ...]]
    repeats: bool = False  # the same text as a question of another shape ("What did Kaine say?")


def role_of(source: str, casing: ep.Casing | None) -> str:
    """The head noun of a descriptive source span, lower case, or "" when it has none.

    A head capitalised only because it opens the sentence ("Experts on North Korea")
    is a role too: ``casing`` says it is no name. Without ``casing`` any head counts
    ("The International Atomic Energy Agency" -> agency).
    """
    words = _WORD.findall(ep._CUT.split(source, maxsplit=1)[0])
    for i, word in enumerate(words):
        if i and word.lower() in _ROLE_PREPOSITIONS:
            words = words[:i]
            break
    if not words:
        return ""
    head = ep._POSSESSIVE.sub("", words[-1])
    if casing and not head.islower() and (casing.proper(head) or not head[1:].islower()):
        return ""
    head = head.lower()
    return "" if len(head) < 3 or head in ep.SKIP_WORDS else head


def read_split(path: Path, split: str) -> tuple[list[dict], dict[str, list[Said]], dict]:
    """The split's records, attributions by file, and each entity's name forms."""
    records = [r for r in map(json.loads, path.open(encoding="utf-8")) if r["compartment"] == split]
    casing = ep.Casing([r["text"] for r in records])
    by_file: dict[str, list[Said]] = {}
    cues = {
        w.lower() for r in records for a in _first(r) for c in a["cue"] for w in c["text"].split()
    }
    forms: dict[str, Counter[str]] = defaultdict(Counter)
    with_the: Counter[str] = Counter()
    for record in records:
        text = record["text"]
        items = _first(record)
        found = by_file.setdefault(f"{record['id']}.txt", [])
        for item in items:
            keys: set[str] = set()
            for span in item["source"]:
                for key, form, article in ep.names(span["text"], casing):
                    keys.add(key)
                    forms[key][form] += 1
                    with_the[key] += article
            role = (
                "" if keys else " ".join(role_of(s["text"], casing) for s in item["source"]).strip()
            )
            content = tuple((c["start"], c["end"]) for c in item["content"])
            said = " ".join(text[s:e] for s, e in content)
            role = "" if " " in role or role in cues else role  # "said" is no role
            heads = {_singular(role_of(s["text"], None)) for s in item["source"]}
            found.append(Said(frozenset(keys), role, " ".join(sorted(heads)), content, said))
    return records, by_file, {"forms": forms, "with_the": with_the, "casing": casing}


def _singular(noun: str) -> str:
    """Fold a plural: "officials" and "official" are one role to a reader."""
    return noun[:-1] if noun.endswith("s") and not noun.endswith("ss") else noun


def _first(record: dict) -> list[dict]:
    """The first annotator's attributions of a record (as ``eval_polnear`` scores)."""
    return record["annotations"][0]["attributions"] if record["annotations"] else []


def _gold(by_file: dict[str, list[Said]], keep: object) -> dict[str, tuple[Said, ...]]:
    out = {f: tuple(a for a in found if keep(a)) for f, found in by_file.items()}  # type: ignore[operator]
    return {f: found for f, found in out.items() if found}


def _topic(said: Iterable[Said], own: set[str], casing: ep.Casing) -> str | None:
    """The run of names most of an entity's content spans hold, none of them its own names.

    A run is consecutive words each written as a name in the split ("Affordable Care
    Act", "North Korea"), possessives dropped, not a title or pronoun.
    """
    counts: Counter[str] = Counter()
    for item in said:
        runs: set[str] = set()
        run: list[str] = []
        for word in [*_WORD.findall(item.text), ""]:
            word = ep._POSSESSIVE.sub("", word)
            if (
                len(word) > 1
                and word[:1].isupper()
                and not word.isupper()
                and casing.proper(word)
                and _LETTERS.sub("", word.lower()) not in own
                and word.lower() not in ep.SKIP_WORDS
                and word.lower() not in DATES
                and not ep._is_title(word)
            ):
                run.append(word)
                continue
            if run:
                runs.add(" ".join(run))
            run = []
        counts.update(runs)
    if not counts:
        return None
    return min(counts, key=lambda w: (-counts[w], len(w), w))


def _surname(forms: Counter[str], the: str) -> str | None:
    """The last word of the entity's commonest name of more than one word, if it reads as a surname.

    Every speaker whose name has a surname is asked about by it, whether or not the
    articles also use it alone ("Trump" as well as "Donald Trump"): users ask "what did
    Kaine say?" either way. Not for names mostly written with "the" ("the United
    States" has no surname), names joined by a connector ("Bank of America", "Osama bin Laden"),
    nor a last word in capitals ("USA TODAY", "Super PAC"): those are no person's names.
    """
    if the:
        return None
    longer = [f for f in forms if len(f.split()) > 1]
    if not longer:
        return None
    name = max(longer, key=lambda f: (forms[f], -len(f), f)).split()
    last = name[-1]
    if set(w.lower() for w in name) & ep.CONNECTORS or last.isupper() or not last[1:].islower():
        return None
    return last


def generate(by_file: dict[str, list[Said]], stats: dict) -> list[Question]:
    """Every shape's questions for the split, in a fixed order (``stats`` from ``read_split``)."""
    forms, with_the, casing = stats["forms"], stats["with_the"], stats["casing"]
    counts: Counter[str] = Counter(k for found in by_file.values() for a in found for k in a.keys)
    entities = sorted((k for k, n in counts.items() if n >= 2), key=lambda k: (-counts[k], k))
    out: list[Question] = []
    for key in entities:
        mine = _gold(by_file, lambda a, key=key: key in a.keys)
        short = ep.best_form(forms[key])
        the = "the " * (2 * with_the[key] > counts[key])
        say = SHAPES["say"].format(x=the + short)
        out.append(Question("say", say, mine))
        longest = max(forms[key], key=lambda f: (len(f.split()), len(f), f))
        if len(longest.split()) > len(short.split()):
            out.append(Question("full name", SHAPES["full name"].format(x=the + longest), mine))
        surname = _surname(forms[key], the)
        if surname:
            text = SHAPES["surname"].format(x=surname)
            out.append(Question("surname", text, mine, repeats=text == say))
        own = {_LETTERS.sub("", w.lower()) for f in forms[key] for w in f.split()}
        topic = _topic((a for found in mine.values() for a in found), own, casing)
        if topic is None:
            continue
        pattern = re.compile(r"\b" + r"[\s\W]+".join(map(re.escape, topic.split())) + r"\b")
        about = _gold(mine, lambda a, p=pattern: bool(p.search(a.text)))
        if not about:  # the topic run spans two content pieces: no attribution holds it whole
            continue
        for shape in TOPIC_SHAPES:
            out.append(Question(shape, SHAPES[shape].format(x=the + short, y=topic), about))
    roles: Counter[str] = Counter(a.role for found in by_file.values() for a in found if a.role)
    for role in sorted(r for r, n in roles.items() if n >= ROLE_MIN_ATTRIBUTIONS):
        who = role if role.endswith("s") else f"the {role}"
        singular = _singular(role)
        gold = _gold(by_file, lambda a, r=singular: r in a.head.split())
        out.append(Question("role", SHAPES["role"].format(x=who), gold))
    return out


def right(question: Question, answer: dict) -> bool:
    """Whether ``answer`` overlaps a content span of one of the question's gold attributions."""
    found = question.gold.get(answer["source"]["id"], ())
    return any(answer["start"] < e and s < answer["end"] for a in found for s, e in a.content)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ec.add_polnear_args(parser)
    parser.add_argument("--shapes", default="", help="comma-separated shapes to ask (default all)")
    ec.add_common_args(parser)
    args = parser.parse_args(argv)
    ec.check_polnear_split(parser, args)
    if ec.missing(args.polnear):
        return 0
    records, by_file, stats = read_split(args.polnear, args.split)
    questions = generate(by_file, stats)
    if args.shapes:
        wanted = {s.strip() for s in args.shapes.split(",")}
        questions = [q for q in questions if q.shape in wanted]
    print(f"PolNeAR {args.split}: {len(records)} articles, {len(questions)} questions")
    with tempfile.TemporaryDirectory(prefix="polnear-shapes-") as tmp:
        for record in records:
            meta = {"title": record["title"], "publisher": record["publisher"]}
            ec.write_article(Path(tmp, f"{record['id']}.txt"), meta, record["text"])
        run = ec.run_bot(Path(tmp), [q.text for q in questions], args.top_k, args.timeout)
    report(args.split, questions, run.replies, args.show_misses)
    return 0


def report(split: str, questions: list[Question], replies: list[dict], show: int) -> None:
    """One row per shape: questions, right@1, right@3, declined; then a sample of misses."""
    rows, misses = [], []
    for shape in [*SHAPES, NEW_SURNAME, "all"]:
        if shape == NEW_SURNAME:  # a row of its own, not a shape: its misses are surname's
            picked = [n for n, q in enumerate(questions)
                      if q.shape == "surname" and not q.repeats]  # fmt: skip
        else:
            picked = [n for n, q in enumerate(questions) if shape in ("all", q.shape)]
        if not picked:
            continue
        at1 = [any(right(questions[n], a) for a in replies[n]["answers"][:1]) for n in picked]
        at3 = [any(right(questions[n], a) for a in replies[n]["answers"][:3]) for n in picked]
        gone = [not replies[n]["answers"] for n in picked]
        rows.append((shape, len(picked), ec.pct(ec.rate(at1)), ec.pct(ec.rate(at3)),
                     ec.pct(ec.rate(gone))))  # fmt: skip
        if shape not in ("all", NEW_SURNAME):
            for n, ok in zip(picked, at1, strict=True):
                if not ok:
                    f, found = next(iter(questions[n].gold.items()))
                    misses.append((questions[n].text, f"[{f}] {found[0].text}", replies[n]))
    ec.print_table(f"PolNeAR {split}: speaker questions by shape",
                   ["shape", "questions", "right@1", "right@3", "declined"], rows)  # fmt: skip
    ec.print_misses("misses at 1", misses, show)


if __name__ == "__main__":
    sys.exit(main())
