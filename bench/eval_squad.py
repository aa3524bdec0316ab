"""SQuAD v1.1 dev as sentence QA: does the bot quote a sentence holding the gold answer?

The even-numbered articles are the corpus and their questions must be answered;
the odd-numbered articles' questions are about things the corpus never
mentions, so the right reply to them is no answer. A plain sentence BM25 runs
beside the bot on the same questions.

``--distractors DIR`` adds every article file under DIR (for example the BBC
corpora ``bench/scale.py`` writes) to the corpus: the same questions must then
be answered from among news sentences that share their common words. The
plain-BM25 baseline is left out then (rank-bm25 scores every sentence per
question: hours at 100,000 sentences).

    python bench/eval_squad.py [--squad PATH] [--limit N] [--top-k K] [--show-misses N]
                               [--distractors DIR] [--half all|tune|report]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from pathlib import Path

import eval_common as ec

HALVES = ("all", "tune", "report")


def half_of(number: int) -> str:
    """Which half article ``number`` belongs to: pairs of articles alternate tune, report.

    So each half has in-corpus (even) and out-of-corpus (odd) articles. The decline model
    (``tools/fit_decline.py``) is fitted on the tune half's questions only; the report
    half's figures are the held-out ones.
    """
    return HALVES[1 + (number // 2) % 2]


def load(
    path: Path, half: str = "all"
) -> tuple[dict[str, str], list[tuple[str, list[str]]], list[str]]:
    """Corpus bodies by file name, in-corpus (question, gold answers), out-of-corpus questions.

    The corpus is every even-numbered article whatever ``half`` is; ``half`` picks whose
    questions are asked.
    """
    articles = json.loads(path.read_text(encoding="utf-8"))["data"]
    bodies: dict[str, str] = {}
    inside: list[tuple[str, list[str]]] = []
    outside: list[str] = []
    for number, article in enumerate(articles):
        qas = [qa for p in article["paragraphs"] for qa in p["qas"]]
        if half != "all" and half_of(number) != half:
            qas = []
        if number % 2:
            outside += [qa["question"] for qa in qas]
            continue
        name = f"{number:02d}_{article['title']}.txt"
        bodies[name] = "\n\n".join(p["context"] for p in article["paragraphs"])
        inside += [(qa["question"], [a["text"] for a in qa["answers"]]) for qa in qas]
    return bodies, inside, outside


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad", type=Path, default=ec.DATA_DIR / "squad" / "dev-v1.1.json")
    parser.add_argument("--limit", type=int, default=0, help="N in- and N out-of-corpus questions")
    parser.add_argument(
        "--calibrate", action="store_true", help="also sweep min_coverage (a second bot run)"
    )
    parser.add_argument("--distractors", type=Path, help="folder of extra articles to add")
    parser.add_argument(
        "--half",
        choices=HALVES,
        default="all",
        help="whose questions: see half_of (report: held out)",
    )
    ec.add_common_args(parser)
    args = parser.parse_args(argv)
    if ec.missing(args.squad) or (args.distractors and ec.missing(args.distractors)):
        return 0
    bodies, inside, outside = load(args.squad, args.half)
    if args.limit:
        rng = random.Random(ec.SEED)
        inside = rng.sample(inside, min(args.limit, len(inside)))
        outside = rng.sample(outside, min(args.limit, len(outside)))
    questions = [q for q, _ in inside] + outside
    print(
        f"SQuAD v1.1 dev ({args.half} questions): {len(bodies)} corpus articles, "
        f"{len(inside)} in-corpus and "
        f"{len(outside)} out-of-corpus questions, top-k {args.top_k}"
    )

    with tempfile.TemporaryDirectory(prefix="squad-corpus-") as tmp:
        for name, body in bodies.items():
            title = name[3:-4].replace("_", " ")  # "02_Normans.txt" -> "Normans"
            ec.write_article(Path(tmp, name), {"title": title, "publisher": "Wikipedia"}, body)
        if args.distractors:
            shutil.copytree(args.distractors, Path(tmp, "distractors"))
            print(f"distractors: {len(ec.read_bodies(Path(tmp, 'distractors')))} articles")
        bot = ec.run_bot(Path(tmp), questions, args.top_k, args.timeout)
        open_run = (
            ec.run_bot(Path(tmp), questions, 1, args.timeout, {"NEWSQUOTE_MIN_COVERAGE": "0"})
            if args.calibrate
            else None
        )
        if args.distractors:
            bodies = ec.read_bodies(Path(tmp))  # every article a quote may come from
    baseline = None if args.distractors else ec.Bm25Baseline(bodies).ask(questions, args.top_k)

    golds = [[ec.normalise(g) for g in gold] for _, gold in inside]

    def judge(n: int, answer: dict) -> bool:
        quote = ec.normalise(answer["quote"])
        return any(g in quote for g in golds[n])

    rows = []
    for name, run in (("bot", bot), ("BM25 sentences", baseline)):
        if run is None:
            continue
        ins, outs = run.replies[: len(inside)], run.replies[len(inside) :]
        rows.append((
            name,
            *ec.qa_rates(ins, outs, judge),
            ec.mean_top_quote_chars(ins),
            1000 * run.per_question,
            ec.offset_errors(run.replies, bodies),
        ))  # fmt: skip
    ec.print_table(
        "SQuAD v1.1 dev (sentence QA)",
        ["system", "hit@1", "hit@3", "out-of-corpus declined", "in-corpus declined",
         "top quote chars", "ms/question", "offset errors"],
        rows,
    )  # fmt: skip
    print(
        f"bot: {bot.seconds:.1f} s for {len(questions)} questions piped through one process "
        f"(first reply after {bot.first_reply:.1f} s, then {1000 * bot.steady_per_question:.1f} "
        f"ms/question); baseline: "
        + ("not run with distractors" if baseline is None else "scoring time only")
    )
    if open_run is not None:
        ins = open_run.replies[: len(inside)]
        ec.calibration(
            ins,
            ec.hit_at(ins, 1, judge),
            open_run.replies[len(inside) :],
            "Decline calibration (bot run with min_coverage 0, thresholded per question)",
        )
    show_misses(inside, outside, bot, judge, args.show_misses)
    return 0


def show_misses(
    inside: list[tuple[str, list[str]]], outside: list[str], bot: ec.Run, judge: ec.Judge, most: int
) -> None:
    """Wrong in-corpus replies and answered out-of-corpus questions, to read why."""
    ins, outs = bot.replies[: len(inside)], bot.replies[len(inside) :]
    hits = ec.hit_at(ins, 3, judge)
    wrong = [
        (q, " | ".join(dict.fromkeys(g)), r)
        for (q, g), r, ok in zip(inside, ins, hits, strict=True)
        if not ok
    ]
    answered = [(q, "no answer", r) for q, r in zip(outside, outs, strict=True) if r["answers"]]
    ec.print_misses(f"SQuAD in-corpus misses ({len(wrong)}: no gold answer in top-k)", wrong, most)
    ec.print_misses(f"SQuAD out-of-corpus questions answered ({len(answered)})", answered, most)


if __name__ == "__main__":
    sys.exit(main())
