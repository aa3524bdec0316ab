"""Attribution itself on PolNeAR: is the source of each content span found?

Unlike the other harnesses this one scores an inner stage, not the ``ask --json``
contract, so it imports the bot: each article of the split goes through
``prepare_articles`` (the ingest the bot runs: cleaning, Punkt, speakers) and the
speakers it gives the sentences overlapping an attribution's content are compared
with the annotated source.

Scored: attributions of the first annotator whose source names someone (entity keys
as in ``eval_polnear``: "Mr. Trump" and "Donald Trump" are "trump"). A prediction is
the speakers (as resolved, and as written) of the sentences overlapping the content
spans; it is right when one of them has a key of the source. precision = right /
attributions given any speaker; recall = right / all scored; F1 their harmonic mean.
``--rules-only`` turns the learned tagger off, to set the two side by side.

    python bench/eval_attribution.py [--polnear PATH] [--split dev|train|test --final] [--rules-only]
"""

from __future__ import annotations

import argparse
import json
import sys

import eval_common as ec
import eval_polnear as ep

from bot.core.index.tokenize import Tokenizer
from bot.core.ingest import speakers as speakers_module
from bot.core.ingest.document import prepare_articles
from bot.core.ingest.raw import RawArticle
from bot.core.ingest.sentences import SentenceSplitter
from bot.core.models import Source


def score(records: list[dict], casing: ep.Casing) -> tuple[int, int, int]:
    """(scored, predicted, right) over the records' named-source attributions."""
    splitter = SentenceSplitter.train(r["text"] for r in records)
    tok = Tokenizer()
    scored = predicted = right = 0
    for record in records:
        (prepared,) = prepare_articles(
            [RawArticle(Source(record["id"]), record["text"])], splitter, tok
        )
        if isinstance(prepared, Exception):
            raise prepared
        spans = [(s.start, s.end) for s in prepared.sentences]
        items = record["annotations"][0]["attributions"] if record["annotations"] else []
        for item in items:
            gold = {k for s in item["source"] for k, _, _ in ep.names(s["text"], casing)}
            if not gold or not item["content"]:
                continue
            scored += 1
            keys: set[str] = set()
            for n, (start, end) in enumerate(spans):
                if any(start < c["end"] and c["start"] < end for c in item["content"]):
                    for found in prepared.attributions[n]:
                        for said in (found.speaker, found.resolved_from or ""):
                            keys |= {k for k, _, _ in ep.names(said, casing)}
                            keys |= {w.casefold().strip(".,’'s") for w in said.split()[-1:]}
            predicted += bool(keys)
            right += bool(keys & gold)
    return scored, predicted, right


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ec.add_polnear_args(parser)
    parser.add_argument("--rules-only", action="store_true", help="without the learned tagger")
    args = parser.parse_args(argv)
    ec.check_polnear_split(parser, args)
    if ec.missing(args.polnear):
        return 0
    with args.polnear.open(encoding="utf-8") as lines:
        records = [r for r in map(json.loads, lines) if r["compartment"] == args.split]
    casing = ep.Casing([r["text"] for r in records])
    rows = []
    for name, learned in (("rules", False), ("rules + learned tagger", True)):
        if args.rules_only and learned:
            continue
        speakers_module.USE_LEARNED = learned
        scored, predicted, right = score(records, casing)
        precision, recall = right / max(predicted, 1), right / max(scored, 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        rows.append((name, scored, predicted, right, ec.pct(precision), ec.pct(recall),
                     ec.pct(f1)))  # fmt: skip
    ec.print_table(
        f"PolNeAR {args.split}: source of each content span (named sources)",
        ["system", "attributions", "given a speaker", "right", "precision", "recall", "F1"],
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
