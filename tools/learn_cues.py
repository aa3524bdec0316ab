"""Learn the words that cue reported speech from PolNeAR's train split.

A reporting verb list written by hand grows one question at a time
("dismissed", "labelled", "brokered"...). PolNeAR annotates the cue of every
attribution in 840 train articles, so the list is counted instead: a word is a
cue when annotators marked it as one at least ``MIN_CUES`` times and in at
least ``MIN_SHARE`` of the times it appears in those articles (so "said" and
"rejected" are in, "the" and "to" are not). Only train is read: dev and test
stay unseen. Writes ``bot/core/data/learned_cues.txt`` with its provenance.

    python tools/learn_cues.py PATH/TO/polnear.jsonl [OUT]
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

MIN_CUES = 5  # marked as a cue this often in train
MIN_SHARE = 0.3  # and in this share of its occurrences there
_WORD = re.compile(r"[a-z]+(?:['’][a-z]+)?")
OUT = Path(__file__).resolve().parent.parent / "bot" / "core" / "data" / "learned_cues.txt"
HEADER = """\
# Words that cue reported speech, counted from PolNeAR's train split (tools/learn_cues.py):
# the most cue-like word of an attribution cue at least {cues} times and in at least {share:.0%} of their
# occurrences in its 840 articles. Source: networkdynamics/PolNeAR@c3eee833 (Newell,
# Margolin & Ruths, LREC 2018); the corpus states no licence and its texts are the
# publishers': only these counted words are kept, no text. Used by bot/core/answer/acting.py.
"""


def learn(path: Path) -> list[str]:
    """Cue words of the train split, most often marked first (then alphabetical).

    A cue span of several words ("has said", "according to", "told reporters") is
    counted once, for its most cue-like word: the one marked in the largest share
    of its occurrences, so helpers such as "has" and "to" are not learned as cues.
    """
    spans: list[set[str]] = []
    seen: Counter[str] = Counter()
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record["compartment"] != "train":
                continue
            seen.update(_WORD.findall(record["text"].lower()))
            annotations = record["annotations"][0]["attributions"] if record["annotations"] else []
            for item in annotations:
                spans += [set(_WORD.findall(c["text"].lower())) for c in item["cue"]]
    marked = Counter(w for span in spans for w in span)

    def share(word: str) -> float:
        return marked[word] / max(seen[word], 1)

    heads = Counter(max(sorted(span), key=share) for span in spans if span)
    kept = [
        w for w, n in heads.items() if len(w) > 2 and n >= MIN_CUES and n >= MIN_SHARE * seen[w]
    ]
    return sorted(kept, key=lambda w: (-heads[w], w))


def main(argv: list[str]) -> int:
    if not argv or not Path(argv[0]).is_file():
        print("usage: python tools/learn_cues.py PATH/TO/polnear.jsonl [OUT]", file=sys.stderr)
        return 2
    out = Path(argv[1]) if len(argv) > 1 else OUT
    words = learn(Path(argv[0]))
    out.write_text(HEADER.format(cues=MIN_CUES, share=MIN_SHARE) + "\n".join(words) + "\n")
    print(f"{len(words)} cue words -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
