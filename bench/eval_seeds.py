"""The bundled seed articles: hand-written questions, expected quotes and page furniture.

Small, but it is the corpus a new user meets first, and the one with real page
furniture (a donation box, headings, a "Similar Posts" list) that must never be
quoted. ``seed_questions.yaml`` is checked against the seed bodies before use.

    python bench/eval_seeds.py [--corpus DIR] [--questions YAML] [--top-k K] [--show-misses N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import eval_common as ec
import yaml

Spans = dict[str, list[tuple[int, int]]]


def furniture_spans(bodies: dict[str, str], lines: list[str]) -> tuple[Spans, list[str]]:
    """Where each boilerplate line stands in each body, and the lines found nowhere."""
    spans: Spans = {name: [] for name in bodies}
    unknown = []
    for line in lines:
        found = False
        for name, body in bodies.items():
            at = body.find(line)
            while at >= 0:
                spans[name].append((at, at + len(line)))
                found = True
                at = body.find(line, at + 1)
        if not found:
            unknown.append(f"boilerplate line not in any seed body: {line!r}")
    return spans, unknown


def check_expectations(questions: list[dict], bodies: dict[str, str], spans: Spans) -> list[str]:
    """Expected strings must come from article sentences, not from furniture."""
    article_text = []
    for name, body in bodies.items():
        chars = list(body)
        for s, e in spans[name]:
            chars[s:e] = "\n" * (e - s)
        article_text.append(ec.normalise("".join(chars)))
    problems = []
    for item in questions:
        expect = item.get("expect")
        if expect == "none":
            continue
        if not isinstance(expect, list) or not expect:
            problems.append(f"{item['question']!r}: expect must be a list of strings or 'none'")
            continue
        problems += [
            f"{item['question']!r}: {text!r} is not in any seed article's text"
            for text in expect
            if not any(ec.normalise(text) in body for body in article_text)
        ]
    return problems


def is_furniture(answer: dict, spans: Spans) -> bool:
    return any(
        answer["start"] < e and s < answer["end"] for s, e in spans.get(answer["source"]["id"], [])
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ec.ROOT / "seeds")
    parser.add_argument(
        "--questions", type=Path, default=Path(__file__).with_name("seed_questions.yaml")
    )
    ec.add_common_args(parser)
    args = parser.parse_args(argv)
    if ec.missing(args.corpus, args.questions):
        return 0
    bodies = ec.read_bodies(args.corpus)
    if not bodies:
        print(f"skipped: no .txt/.md articles in {args.corpus}")
        return 0
    spec = yaml.safe_load(args.questions.read_text(encoding="utf-8"))
    spans, problems = furniture_spans(bodies, spec["boilerplate"])
    problems += check_expectations(spec["questions"], bodies, spans)
    if problems:
        print(f"{args.questions}: {len(problems)} problem(s)", *problems, sep="\n  ")
        return 1
    answerable = [q for q in spec["questions"] if q["expect"] != "none"]
    unanswerable = [q["question"] for q in spec["questions"] if q["expect"] == "none"]
    questions = [q["question"] for q in answerable] + unanswerable
    print(
        f"Seeds: {len(bodies)} articles, {len(answerable)} answerable and {len(unanswerable)} "
        f"unanswerable questions, top-k {args.top_k}"
    )
    bot = ec.run_bot(args.corpus, questions, args.top_k, args.timeout)
    open_run = ec.run_bot(args.corpus, questions, 1, args.timeout, {"NEWSQUOTE_MIN_COVERAGE": "0"})
    baseline = ec.Bm25Baseline(bodies).ask(questions, args.top_k)
    expect = [[ec.normalise(t) for t in q["expect"]] for q in answerable]

    def judge(n: int, answer: dict) -> bool:
        quote = ec.normalise(answer["quote"])
        return any(t in quote for t in expect[n])

    def split(replies: list[ec.Reply]) -> tuple[list[ec.Reply], list[ec.Reply]]:
        return replies[: len(answerable)], replies[len(answerable) :]

    rows = []
    for name, run in (("bot", bot), ("BM25 sentences", baseline)):
        ans, unans = split(run.replies)
        quotes = [a for r in run.replies for a in r["answers"]]
        rows.append((
            name,
            *ec.qa_rates(ans, unans, judge),
            f"{sum(is_furniture(a, spans) for a in quotes)}/{len(quotes)}",
            ec.offset_errors(run.replies, bodies),
        ))  # fmt: skip
    ec.print_table(
        "Seed questions",
        ["system", "right@1", "right@3", "unanswerable declined", "answerable declined",
         "boilerplate quotes", "offset errors"],
        rows,
    )  # fmt: skip
    ans, unans = split(bot.replies)
    right = ec.hit_at(ans, 1, judge)
    open_ans, open_unans = split(open_run.replies)
    ec.calibration(
        open_ans,
        ec.hit_at(open_ans, 1, judge),
        open_unans,
        "Decline calibration (seeds; bot run with min_coverage 0, thresholded per question)",
    )
    wrong = [
        (q["question"], " | ".join(q["expect"]), r)
        for q, r, ok in zip(answerable, ans, right, strict=True)
        if not ok
    ]
    answered = [
        (q, "no answer", r) for q, r in zip(unanswerable, unans, strict=True) if r["answers"]
    ]
    furniture = [
        (r["question"], "no boilerplate", {**r, "answers": bad})
        for r in bot.replies
        if (bad := [a for a in r["answers"] if is_furniture(a, spans)])
    ]
    ec.print_misses("Seed misses at 1", wrong, args.show_misses)
    ec.print_misses("Unanswerable seed questions answered", answered, args.show_misses)
    ec.print_misses("Replies quoting boilerplate", furniture, args.show_misses)
    return 0


if __name__ == "__main__":
    sys.exit(main())
