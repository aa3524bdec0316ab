"""Fit the fact-question decline model on the tune half of SQuAD v1.1 dev; report the other half.

The corpus is SQuAD dev's even-numbered articles (as ``bench/eval_squad.py`` builds
it); a question is answerable when its article is in the corpus. Articles are split
into two halves (``eval_squad.half_of``): the model's coefficients, the coverage
floor it works at and its answer threshold are all chosen on the tune half's
questions; with ``--report`` the report half's figures and trade-off curve are
printed and written to ``bench/results/decline_curve.md`` too, and never used for
choosing (without it only the tune half's are, for working on the model).

Only the tune half's questions are asked unless ``--report`` is given (then the report
half is asked once, after everything is chosen). For each candidate floor the engine
(``fitted_decline`` off, ``min_coverage`` at that floor) answers every question, and
``Engine.decline_inputs`` gives the exact inputs ``ask`` will feed the model. A
scikit-learn model learns "answerable" from them: by default 100 gradient-boosted
regression trees of depth 2 (``--kind trees``; classes weighted to balance), or a
logistic regression (``--kind logistic``). Every tune-half question gets a chance
from a model fitted without its article (``--folds`` folds of whole articles); the
threshold is the one keeping most of those cross-validated right answers within three
while declining at least ``--declined`` of the tune half's out-of-corpus questions,
and the model written is then fitted on the whole tune half. Only the trees' nodes (or
the coefficients) are written (``bot/core/data/decline_model.json``), with the
settings and cross-validated figures they were fitted with, after checking that the
bot's own reading of the file gives scikit-learn's chances: the bot needs no
scikit-learn.

    .venv/bin/python tools/fit_decline.py [--squad PATH] [--declined 0.72] [--kind trees|logistic]
        [--trees 100] [--depth 2] [--folds 5] [--floors 0 0.25] [--cache PATH] [--write] [--report]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import eval_common as ec  # noqa: E402
import eval_squad  # noqa: E402

from bot.core.answer.decline import FEATURES, MODEL_FILE, model_from_json  # noqa: E402
from bot.core.answer.engine import Engine  # noqa: E402
from bot.settings import Settings  # noqa: E402

FLOORS = (0.0,)
THRESHOLDS = tuple(float(t) for t in np.round(np.arange(0.05, 0.96, 0.01), 2))


@dataclass
class Half:
    """One half's questions as answered at one floor: outcome flags and model inputs."""

    answerable: np.ndarray  # in-corpus question
    answered: np.ndarray  # answered at this floor without the model
    right1: np.ndarray  # in-corpus and right at 1 (False when declined)
    right3: np.ndarray
    inputs: np.ndarray  # questions x FEATURES; NaN rows: not a question the model weighs
    modelled: np.ndarray  # reached the model (answered at this floor, a fact question)
    articles: np.ndarray  # each question's SQuAD article number: cross-validation folds


def article_numbers(path: Path, half: str) -> np.ndarray:
    """Each question's article number, in ``eval_squad.load``'s order (in-corpus first)."""
    articles = json.loads(path.read_text(encoding="utf-8"))["data"]
    inside: list[int] = []
    outside: list[int] = []
    for number, article in enumerate(articles):
        if eval_squad.half_of(number) != half:
            continue
        count = sum(len(p["qas"]) for p in article["paragraphs"])
        (outside if number % 2 else inside).extend([number] * count)
    return np.array(inside + outside)


def measure(
    engine: Engine, inside: list, outside: list, floor: float, articles: np.ndarray
) -> Half:
    """Ask every question at ``floor`` and collect outcomes and model inputs."""
    golds = [[ec.normalise(g) for g in gold] for _, gold in inside]
    questions = [q for q, _ in inside] + outside
    answered, right1, right3, rows = [], [], [], []
    for n, question in enumerate(questions):
        reply = engine.ask(question)
        quotes = [ec.normalise(a.quote) for a in reply.answers]
        hits = [n < len(golds) and any(g in q for g in golds[n]) for q in quotes]
        answered.append(bool(reply.answers))
        right1.append(any(hits[:1]))
        right3.append(any(hits[:3]))
        inputs = engine.decline_inputs(question, floor) if reply.answers else None
        rows.append(inputs if inputs is not None else (np.nan,) * len(FEATURES))
    x = np.array(rows, dtype=float)
    return Half(
        np.arange(len(questions)) < len(inside),
        np.array(answered),
        np.array(right1),
        np.array(right3),
        x,
        ~np.isnan(x).any(axis=1),
        articles,
    )


def save_half(path: Path, half: Half) -> None:
    """The tune half's measurements, so a refit need not ask every question again."""
    np.savez_compressed(path, **{f: getattr(half, f) for f in Half.__dataclass_fields__})


def load_half(path: Path) -> Half:
    """What ``save_half`` kept; the features must be this code's (same count)."""
    data = np.load(path)
    half = Half(**{field: data[field] for field in Half.__dataclass_fields__})
    if half.inputs.shape[1] != len(FEATURES):
        raise SystemExit(f"{path} holds other features: delete it and measure again")
    return half


def outcome(half: Half, chance: np.ndarray, threshold: float) -> tuple[float, float, float]:
    """hit@1, hit@3 (of answerable) and out-of-corpus declined when answering at ``threshold``."""
    kept = half.answered & (~half.modelled | (chance >= threshold))
    outside = ~half.answerable
    return (
        float((half.right1 & kept)[half.answerable].mean()),
        float((half.right3 & kept)[half.answerable].mean()),
        float((~kept)[outside].mean()),
    )


@dataclass
class Fitted:
    """A fitted model of either kind: P(answerable) for input rows, and its data file form."""

    kind: str
    scaler: StandardScaler | None
    model: LogisticRegression | GradientBoostingClassifier

    def chance(self, x: np.ndarray) -> np.ndarray:
        if self.scaler is not None:
            x = self.scaler.transform(x)
        return self.model.predict_proba(x)[:, 1]

    def as_json(self, threshold: float, floor: float) -> dict[str, object]:
        """The data file's content: what ``bot/core/answer/decline.py`` reads."""
        about = (
            f"Fact-question decline model ({self.kind}); fitted by tools/fit_decline.py on the "
            "tune half of SQuAD v1.1 dev (eval_squad.half_of), threshold chosen on its "
            "article-fold cross-validated chances. Inputs: bot/core/answer/decline.py FEATURES."
        )
        data: dict[str, object] = {"about": about, "kind": self.kind, "features": list(FEATURES)}
        if self.kind == "logistic":
            assert self.scaler is not None
            data |= {
                "mean": [round(float(v), 6) for v in self.scaler.mean_],
                "scale": [round(float(v), 6) for v in self.scaler.scale_],
                "weights": [round(float(v), 6) for v in self.model.coef_[0]],
                "intercept": round(float(self.model.intercept_[0]), 6),
            }
        else:
            data |= {"base": _trees_base(self.model), "rate": self.model.learning_rate}
            data["trees"] = [_tree_json(t[0].tree_) for t in self.model.estimators_]
            data["params"] = {
                k: self.model.get_params()[k]
                for k in ("n_estimators", "max_depth", "learning_rate", "subsample", "random_state")
            }
        return data | {"threshold": threshold, "floor": floor}


def _trees_base(model: GradientBoostingClassifier) -> float:
    """The log-odds every question starts from (the prior), before the trees' sum."""
    row = np.zeros((1, model.n_features_in_))
    trees = sum(t[0].predict(row.astype(np.float32))[0] for t in model.estimators_)
    return float(model.decision_function(row)[0] - model.learning_rate * trees)


def _tree_json(tree: object) -> dict[str, list]:
    """One scikit-learn regression tree as the node arrays ``decline._tree`` reads."""
    leaf = tree.children_left < 0
    return {
        "feature": [-1 if f else int(v) for f, v in zip(leaf, tree.feature, strict=True)],
        "cut": [0.0 if f else float(v) for f, v in zip(leaf, tree.threshold, strict=True)],
        "left": [int(v) for v in tree.children_left],
        "right": [int(v) for v in tree.children_right],
        "value": [
            round(float(v), 6) if f else 0.0 for f, v in zip(leaf, tree.value[:, 0, 0], strict=True)
        ],
    }


def chances(model: Fitted, half: Half) -> np.ndarray:
    """The model's P(answerable) per question (0 where it was declined before the model)."""
    out = np.zeros(len(half.answerable))
    rows = half.modelled
    out[rows] = model.chance(half.inputs[rows])
    return out


def fit(
    half: Half, kind: str, strength: float, trees: int, depth: int, rows: np.ndarray | None = None
) -> Fitted:
    """A model of ``kind`` fitted to "answerable" on the modelled questions (of ``rows``).

    Logistic: standardised inputs, balanced classes, ``strength`` is scikit-learn's C
    (0.01 was chosen by five-fold cross-validation over whole articles of the tune half;
    at C=1 the weights chased correlated inputs). Trees: ``trees`` gradient-boosted
    regression trees of depth ``depth`` or less, learning rate 0.1, each on 80% of the
    questions, the classes weighted to balance.
    """
    use = half.modelled if rows is None else half.modelled & rows
    x, y = half.inputs[use], half.answerable[use]
    if kind == "logistic":
        scaler = StandardScaler().fit(x)
        model = LogisticRegression(C=strength, class_weight="balanced", max_iter=1000)
        return Fitted(kind, scaler, model.fit(scaler.transform(x), y))
    weight = np.where(y, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    boosted = GradientBoostingClassifier(
        n_estimators=trees, max_depth=depth, learning_rate=0.1, subsample=0.8, random_state=0
    )
    return Fitted(kind, None, boosted.fit(x, y, sample_weight=weight))


def cross_validated(half: Half, folds: int, **how: object) -> np.ndarray:
    """Each question's chance from a model fitted without its article (folds of articles)."""
    out = np.zeros(len(half.answerable))
    for _, held in GroupKFold(n_splits=folds).split(half.inputs, groups=half.articles):
        rows = np.zeros(len(out), dtype=bool)
        rows[held] = True
        model = fit(half, rows=~rows, **how)
        use = rows & half.modelled
        out[use] = model.chance(half.inputs[use])
    return out


def choose(half: Half, chance: np.ndarray, declined: float) -> tuple[float, float]:
    """The threshold with the best hit@3 among those declining ``declined`` or more; its hit@3."""
    best = (THRESHOLDS[-1], -1.0)
    for threshold in THRESHOLDS:
        _, hit3, out = outcome(half, chance, threshold)
        if out >= declined and hit3 > best[1]:
            best = (threshold, hit3)
    return best


def curve(half: Half, chance: np.ndarray) -> list[tuple[float, float, float, float]]:
    """(threshold, hit@1, hit@3, out-of-corpus declined) for every threshold."""
    return [(t, *outcome(half, chance, t)) for t in THRESHOLDS]


def engine_for(corpus: Path, floor: float) -> Engine:
    """The bot's engine over ``corpus`` at coverage floor ``floor``, without the fitted model."""
    options = Settings(_env_file=None, fitted_decline=False, min_coverage=floor)
    return Engine.from_folder(corpus, options.core_options().engine)


def write_corpus(folder: Path, bodies: dict[str, str]) -> None:
    """The SQuAD corpus files, as ``eval_squad`` writes them."""
    for name, body in bodies.items():
        title = name[3:-4].replace("_", " ")
        ec.write_article(folder / name, {"title": title, "publisher": "Wikipedia"}, body)


def report(rows: Sequence[tuple], title: str) -> list[str]:
    """A markdown table of a trade-off curve, every fifth threshold."""
    lines = [f"### {title}", "", "| threshold | hit@1 | hit@3 | out-of-corpus declined |"]
    lines.append("|---|---|---|---|")
    for t, h1, h3, out in rows[::5]:
        lines.append(f"| {t:.2f} | {h1:.1%} | {h3:.1%} | {out:.1%} |")
    return lines


def _figures(at: tuple[float, float, float]) -> str:
    return f"hit@1 {at[0]:.1%}, hit@3 {at[1]:.1%}, out-of-corpus declined {at[2]:.1%}."


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad", type=Path, default=ec.DATA_DIR / "squad" / "dev-v1.1.json")
    parser.add_argument("--declined", type=float, default=0.72, help="tune-half decline target")
    parser.add_argument("--kind", choices=("logistic", "trees"), default="trees")
    parser.add_argument("--strength", type=float, default=0.01, help="C of the regression")
    parser.add_argument("--trees", type=int, default=100, help="boosted trees (--kind trees)")
    parser.add_argument("--depth", type=int, default=2, help="depth of each tree")
    parser.add_argument("--folds", type=int, default=5, help="article folds of the tune half")
    parser.add_argument("--floors", type=float, nargs="+", default=list(FLOORS))
    parser.add_argument("--write", action="store_true", help="write the model data file")
    parser.add_argument(
        "--report",
        action="store_true",
        help="also ask and print the held-out half (once, at the end)",
    )
    parser.add_argument(
        "--cache", type=Path, help="keep the measured tune half in this .npz (read it when there)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "decline_curve.md")
    args = parser.parse_args(argv)
    if ec.missing(args.squad):
        return 0
    how = {"kind": args.kind, "strength": args.strength, "trees": args.trees, "depth": args.depth}
    bodies, tune_in, tune_out = eval_squad.load(args.squad, "tune")
    tune_articles = article_numbers(args.squad, "tune")
    results = []
    with tempfile.TemporaryDirectory(prefix="squad-fit-") as tmp:
        write_corpus(Path(tmp), bodies)
        for floor in args.floors:
            cache = args.cache and args.cache.with_suffix(f".{floor}.npz")
            if cache and cache.exists():
                tune = load_half(cache)
            else:
                engine = engine_for(Path(tmp), floor)
                tune = measure(engine, tune_in, tune_out, floor, tune_articles)
                if cache:
                    save_half(cache, tune)
            crossed = cross_validated(tune, args.folds, **how)
            threshold, hit3 = choose(tune, crossed, args.declined)
            print(f"floor {floor}: threshold {threshold:.2f} -> cross-validated hit@3 {hit3:.1%}")
            alone = outcome(tune, np.ones(len(tune.answerable)), 0.0)
            print("  without the model, tune half: " + _figures(alone))
            results.append((hit3, floor, threshold, crossed, tune))
        hit3, floor, threshold, crossed, tune = max(results, key=lambda r: r[0])
        model = fit(tune, **how)
        lines = [
            f"## Fitted decline on SQuAD v1.1 dev (tools/fit_decline.py, {args.kind})",
            "",
            f"Chosen on the tune half's {args.folds}-fold article cross-validation: floor {floor},"
            f" threshold {threshold:.2f}.",
            "Tune half, cross-validated, at it: " + _figures(outcome(tune, crossed, threshold)),
            "Tune half, model fitted on all of it: "
            + _figures(outcome(tune, chances(model, tune), threshold)),
            "",
            *report(curve(tune, crossed), "Tune half (cross-validated): trade-off by threshold"),
            "",
        ]
        if args.report:  # the held-out half: asked and read once, never used for choosing
            _, report_in, report_out = eval_squad.load(args.squad, "report")
            engine = engine_for(Path(tmp), floor)
            held = measure(
                engine, report_in, report_out, floor, article_numbers(args.squad, "report")
            )
            held_at = outcome(held, chances(model, held), threshold)
            lines[5:5] = ["Report half (held out) at it: " + _figures(held_at)]
            lines += [
                *report(curve(held, chances(model, held)), "Report half: trade-off by threshold"),
                "",
            ]
    print("\n".join(lines))
    args.out.write_text("\n".join(lines), encoding="utf-8")
    if args.write:
        data = model.as_json(threshold, floor)
        h1, h3, out = outcome(tune, crossed, threshold)
        data["tune_half_cross_validated"] = {
            "folds": args.folds,
            "declined_target": args.declined,
            "hit1": round(h1, 4),
            "hit3": round(h3, 4),
            "out_of_corpus_declined": round(out, 4),
        }
        check(data, model, tune)
        path = ROOT / "bot" / "core" / "data" / MODEL_FILE
        path.write_text(json.dumps(data, separators=(",", ":")) + "\n")
        print(f"wrote {path}")
    return 0


def check(data: dict, model: Fitted, half: Half) -> None:
    """The bot's own reading of the data file must give scikit-learn's chances."""
    bot = model_from_json(data)
    rows = half.inputs[half.modelled]
    ours = np.array([bot.probability(tuple(float(v) for v in row)) for row in rows])
    gap = float(np.abs(ours - model.chance(rows)).max())
    print(f"data file against scikit-learn: largest difference in chance {gap:.2g}")
    if gap > 1e-3:
        raise SystemExit("the data file does not reproduce the fitted model")


if __name__ == "__main__":
    sys.exit(main())
