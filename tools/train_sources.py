"""Train the source tagger (bot/core/ingest/learned_sources.py) on PolNeAR's train split.

Each sentence that may report speech (a quotation mark or a learned cue word) becomes
a token sequence labelled ``S`` (inside an annotated source span), ``C`` (inside a
cue span) or ``O``, from the first annotator's attributions. A linear-chain CRF
(sklearn-crfsuite, L-BFGS with L1 and L2 penalties; the L1 term drops most features,
keeping the file small) is fitted on train only and written to
``bot/core/data/source_crf.crfsuite``. Token-level source precision/recall on dev is
printed as a check; dev and test are never trained on.

    pip install sklearn-crfsuite
    python tools/train_sources.py PATH/TO/polnear.jsonl [OUT] [--c1 L1]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import sklearn_crfsuite

from bot.core.ingest.learned_sources import MODEL, features, tokens, worth_tagging
from bot.core.ingest.sentences import SentenceSplitter

OUT = Path(__file__).resolve().parent.parent / "bot" / "core" / "data" / MODEL
C1, C2, ITERATIONS = 3.0, 0.01, 100  # penalties and L-BFGS iterations; C1 chosen on dev
_PARAGRAPH = re.compile(r"\n\s*\n")

Sequence = tuple[list[list[str]], list[str]]


def sequences(records: list[dict], splitter: SentenceSplitter) -> list[Sequence]:
    """(features, labels) of every sentence worth tagging in ``records``."""
    out = []
    for record in records:
        text = record["text"]
        items = record["annotations"][0]["attributions"] if record["annotations"] else []
        source = [(s["start"], s["end"]) for a in items for s in a["source"]]
        cue = [(c["start"], c["end"]) for a in items for c in a["cue"]]
        at = 0
        for paragraph in [*_PARAGRAPH.split(text)]:
            at = text.index(paragraph, at)
            for start, end in splitter.spans(paragraph):
                sentence = paragraph[start:end]
                if not worth_tagging(sentence):
                    continue
                found = tokens(sentence)
                base = at + start
                labels = [_label(base + s, base + e, source, cue) for _, s, e in found]
                out.append((features([w for w, _, _ in found]), labels))
            at += len(paragraph)
    return out


def _label(start: int, end: int, source: list, cue: list) -> str:
    if any(start < e and s < end for s, e in source):
        return "S"
    if any(start < e and s < end for s, e in cue):
        return "C"
    return "O"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("polnear", type=Path, help="polnear.jsonl")
    parser.add_argument("out", type=Path, nargs="?", default=OUT)
    parser.add_argument("--c1", type=float, default=C1, help="L1 penalty (more: smaller model)")
    args = parser.parse_args(argv)
    if not args.polnear.is_file():
        parser.error(f"{args.polnear} not found")
    out = args.out
    with args.polnear.open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    train = [r for r in records if r["compartment"] == "train"]
    dev = [r for r in records if r["compartment"] == "dev"]
    splitter = SentenceSplitter.train(r["text"] for r in train)
    x, y = zip(*sequences(train, splitter), strict=True)
    crf = sklearn_crfsuite.CRF(
        algorithm="lbfgs", c1=args.c1, c2=C2, max_iterations=ITERATIONS, model_filename=str(out)
    )
    crf.fit(list(x), list(y))
    dx, dy = zip(*sequences(dev, splitter), strict=True)
    predicted = crf.predict(list(dx))
    pairs = [
        (g, p) for gs, ps in zip(dy, predicted, strict=True) for g, p in zip(gs, ps, strict=True)
    ]
    tp = sum(g == p == "S" for g, p in pairs)
    precision = tp / max(sum(p == "S" for _, p in pairs), 1)
    recall = tp / max(sum(g == "S" for g, _ in pairs), 1)
    print(
        f"{len(x)} train sentences; dev source tokens: precision {precision:.3f}, "
        f"recall {recall:.3f}; model {out} ({out.stat().st_size} bytes)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
