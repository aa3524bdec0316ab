"""What the speaker-aware answer path costs beside plain BM25 scoring, on one corpus.

    python bench/speaker_cost.py [--corpus DIR] [--questions N]

Three timings per question on the same loaded index, p50 and p95:

* plain scoring: the engine's own sentence BM25, question text to the top 10
  (``SparseBM25.top`` after tokenizing), nothing else;
* fact questions (SQuAD-style questions from ``bench/scale.py``'s work folder,
  or the seed questions) through ``Engine.ask``;
* "What did X say?" for the corpus's most quoted speakers through ``Engine.ask``:
  speaker matching, attribution tiers, quote checks, duplicate merging.

Default corpus: the 100,000-sentence folder that ``bench/scale.py`` writes, when
it is there; else ``seeds/``. The index is saved under a temporary folder.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import yaml

from bot.core.errors import UserError
from bot.core.index.saved import open_engine
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SCALE_WORK = Path("/tmp/newsquote-scale")


def timed(action: Callable[[str], object], questions: Sequence[str]) -> np.ndarray:
    """Milliseconds per question, after one untimed pass to warm caches."""
    for question in questions:
        with contextlib.suppress(UserError):
            action(question)
    out = []
    for question in questions:
        began = time.perf_counter()
        with contextlib.suppress(UserError):
            action(question)
        out.append(time.perf_counter() - began)
    return np.array(out) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = SCALE_WORK / "articles-100000"
    parser.add_argument(
        "--corpus", type=Path, default=default if default.is_dir() else ROOT / "seeds"
    )
    parser.add_argument("--questions", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(_env_file=None, data_dir=Path(data), use_saved_index=True)
        engine = open_engine(args.corpus, settings.core_options()).engine
    facts_file = SCALE_WORK / "questions.json"
    if facts_file.exists():
        facts = json.loads(facts_file.read_text("utf-8"))[: args.questions]
    else:
        listed = yaml.safe_load((ROOT / "bench" / "seed_questions.yaml").read_text("utf-8"))
        facts = [item["question"] for item in listed["questions"]][: args.questions]
    table = engine.table
    counts = Counter(table.strings[int(n)] for n in table.columns["attr_speaker"].tolist())
    speakers = [name for name, _ in counts.most_common(args.questions) if len(name) < 60]
    said = [f"What did {name} say?" for name in speakers]

    def plain(question: str) -> object:
        return engine.index.top(engine.tokenizer(question), 10)

    def ask(question: str) -> object:
        return engine.ask(question, 10)

    rows = [
        ("plain BM25 scoring (top 10)", timed(plain, facts + said)),
        ("Engine.ask, fact questions", timed(ask, facts)),
        ('Engine.ask, "What did X say?"', timed(ask, said)),
    ]
    print(f"corpus {args.corpus}: {engine.sentence_count:,} sentences")
    print(f"{'path':34} {'questions':>9} {'p50 ms':>8} {'p95 ms':>8}")
    for name, ms in rows:
        print(f"{name:34} {ms.size:>9} {np.percentile(ms, 50):>8.2f} {np.percentile(ms, 95):>8.2f}")
    plain_ms = np.percentile(rows[0][1], 50)
    for name, ms in rows[1:]:
        print(f"{name} p50 / plain scoring p50: {np.percentile(ms, 50) / plain_ms:.2f}x")


if __name__ == "__main__":
    main()
