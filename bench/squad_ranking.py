"""SQuAD tune half, ranking alone: hit@1 / hit@3 for ranking weights given on the command line.

What ``tools/fit_decline.py`` prints as "without the model, tune half" (coverage floor 0,
no decline model), for several sets of ``RankOptions`` from one index build, so weights
are compared back to back on the same engine. Only the tune half's in-corpus questions
are asked: the report half is never read here (#18). Each configuration is
``name:field=value,field=value`` (fields of ``bot.core.answer.rank.RankOptions``; an
empty list after the colon is the settings' defaults).

    python bench/squad_ranking.py [--squad PATH] base: \
        wider:paragraph_weight=3.2,coverage_weight=1.4
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import fields, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "tools")]

import eval_common as ec  # noqa: E402
import eval_squad  # noqa: E402
import fit_decline  # noqa: E402

from bot.core.answer.engine import Engine  # noqa: E402
from bot.core.answer.rank import RankOptions  # noqa: E402


def options_of(spec: str, defaults: RankOptions) -> RankOptions:
    """``defaults`` with the ``field=value`` pairs of ``spec`` (comma-separated) replaced."""
    kinds = {f.name: type(getattr(defaults, f.name)) for f in fields(RankOptions)}
    changes: dict[str, float] = {}
    for part in filter(None, spec.split(",")):
        name, _, value = part.partition("=")
        if name not in kinds:
            raise SystemExit(f"{name!r} is not a RankOptions field")
        changes[name] = kinds[name](value)
    return replace(defaults, **changes)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad", type=Path, default=ec.DATA_DIR / "squad" / "dev-v1.1.json")
    parser.add_argument("configs", nargs="*", default=["defaults:"])
    args = parser.parse_args(argv)
    if ec.missing(args.squad):
        return 0
    bodies, inside, _ = eval_squad.load(args.squad, "tune")
    golds = [[ec.normalise(g) for g in gold] for _, gold in inside]
    with tempfile.TemporaryDirectory(prefix="squad-ranking-") as tmp:
        fit_decline.write_corpus(Path(tmp), bodies)
        built = fit_decline.engine_for(Path(tmp), 0.0)
    defaults = built.options.rank
    print(f"SQuAD tune half, ranking alone: {len(inside)} in-corpus questions")
    for config in args.configs:
        name, _, spec = config.partition(":")
        options = replace(built.options, rank=options_of(spec, defaults))
        # The same table and indexes (``corpus``): only the ranking weights differ.
        engine = Engine(built.table, options, built.tokenizer, built.splitter, corpus=built.corpus)
        started = time.process_time()
        right1 = right3 = 0
        for n, (question, _) in enumerate(inside):
            quotes = [ec.normalise(a.quote) for a in engine.ask(question).answers]
            hits = [any(g in quote for g in golds[n]) for quote in quotes]
            right1 += any(hits[:1])
            right3 += any(hits[:3])
        print(
            f"{name:24s} hit@1 {right1 / len(inside):.2%}  hit@3 {right3 / len(inside):.2%}"
            f"  ({time.process_time() - started:.0f} s CPU)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
