"""Fit the fact-question decline model on the tune half of SQuAD v1.1 dev; report the other half.

The corpus is SQuAD dev's even-numbered articles (as ``bench/eval_squad.py`` builds
it); a question is answerable when its article is in the corpus. Articles are split
into two halves (``eval_squad.half_of``): the model's coefficients, the coverage
floor it works at and its answer threshold are all chosen on the tune half's
questions; with ``--report`` the report half's figures and trade-off curve are
printed and written to ``bench/results/decline_curve.md`` too, and never used for
choosing (without it only the tune half's are, for working on the model).

For each candidate floor the engine (``fitted_decline`` off, ``min_coverage`` at
that floor) answers every question, and ``Engine.decline_inputs`` gives the exact
inputs ``ask`` will feed the model. A scikit-learn logistic regression (balanced
classes) learns "answerable" from them on the tune half; the threshold is the one
keeping most tune-half right answers within three while declining at least
``--declined`` of the tune half's out-of-corpus questions. Only the coefficients
are written (``bot/core/data/decline_model.json``): the bot needs no scikit-learn.

    .venv/bin/python tools/fit_decline.py [--squad PATH] [--declined 0.72] [--floors 0 0.25] [--cache PATH] [--write] [--report]
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
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import eval_common as ec  # noqa: E402
import eval_squad  # noqa: E402

from bot.core.answer.decline import FEATURES, MODEL_FILE  # noqa: E402
from bot.core.answer.engine import Engine  # noqa: E402
from bot.settings import Settings  # noqa: E402

FLOORS = (0.0, 0.25)
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


def measure(engine: Engine, inside: list, outside: list, floor: float) -> Half:
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
    )


def save_halves(path: Path, tune: Half, held: Half) -> None:
    """Both halves' measurements, so a refit need not ask every question again."""
    arrays = {
        f"{name}_{field}": getattr(half, field)
        for name, half in (("tune", tune), ("held", held))
        for field in Half.__dataclass_fields__
    }
    np.savez_compressed(path, **arrays)


def load_halves(path: Path) -> tuple[Half, Half]:
    """What ``save_halves`` kept; the features must be this code's (same count)."""
    data = np.load(path)
    halves = tuple(
        Half(**{field: data[f"{name}_{field}"] for field in Half.__dataclass_fields__})
        for name in ("tune", "held")
    )
    if halves[0].inputs.shape[1] != len(FEATURES):
        raise SystemExit(f"{path} holds other features: delete it and measure again")
    return halves


def outcome(half: Half, chance: np.ndarray, threshold: float) -> tuple[float, float, float]:
    """hit@1, hit@3 (of answerable) and out-of-corpus declined when answering at ``threshold``."""
    kept = half.answered & (~half.modelled | (chance >= threshold))
    outside = ~half.answerable
    return (
        float((half.right1 & kept)[half.answerable].mean()),
        float((half.right3 & kept)[half.answerable].mean()),
        float((~kept)[outside].mean()),
    )


def chances(model: tuple[StandardScaler, LogisticRegression], half: Half) -> np.ndarray:
    """The model's P(answerable) per question (0 where it was declined before the model)."""
    scaler, fitted = model
    out = np.zeros(len(half.answerable))
    rows = half.modelled
    out[rows] = fitted.predict_proba(scaler.transform(half.inputs[rows]))[:, 1]
    return out


def fit(half: Half, strength: float = 0.01) -> tuple[StandardScaler, LogisticRegression]:
    """Logistic regression of answerable on the standardised inputs of modelled questions.

    ``strength`` is scikit-learn's C (smaller regularises more). 0.01 was chosen by
    five-fold cross-validation on the tune half (folds of whole articles): at 72% of
    out-of-corpus questions declined it kept hit@3 at 88.4% against 87.8% at C=1, whose
    weights chased correlated inputs (the coverages of sentence, paragraph and article).
    """
    rows = half.modelled
    scaler = StandardScaler().fit(half.inputs[rows])
    model = LogisticRegression(C=strength, class_weight="balanced", max_iter=1000)
    model.fit(scaler.transform(half.inputs[rows]), half.answerable[rows])
    return scaler, model


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


def model_json(
    model: tuple[StandardScaler, LogisticRegression], threshold: float, floor: float
) -> dict[str, object]:
    """The data file's content: what ``bot/core/answer/decline.py`` reads."""
    scaler, fitted = model
    return {
        "about": "Fact-question decline model; fitted by tools/fit_decline.py on the tune half "
        "of SQuAD v1.1 dev (eval_squad.half_of). Inputs: bot/core/answer/decline.py FEATURES.",
        "features": list(FEATURES),
        "mean": [round(float(v), 6) for v in scaler.mean_],
        "scale": [round(float(v), 6) for v in scaler.scale_],
        "weights": [round(float(v), 6) for v in fitted.coef_[0]],
        "intercept": round(float(fitted.intercept_[0]), 6),
        "threshold": threshold,
        "floor": floor,
    }


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
    parser.add_argument("--strength", type=float, default=0.01, help="C of the regression")
    parser.add_argument("--floors", type=float, nargs="+", default=list(FLOORS))
    parser.add_argument("--write", action="store_true", help="write the model data file")
    parser.add_argument(
        "--report", action="store_true", help="also print the held-out half (once, at the end)"
    )
    parser.add_argument(
        "--cache", type=Path, help="keep the measured halves in this .npz (read it when there)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "decline_curve.md")
    args = parser.parse_args(argv)
    if ec.missing(args.squad):
        return 0
    bodies, tune_in, tune_out = eval_squad.load(args.squad, "tune")
    _, report_in, report_out = eval_squad.load(args.squad, "report")
    results = []
    with tempfile.TemporaryDirectory(prefix="squad-fit-") as tmp:
        write_corpus(Path(tmp), bodies)
        for floor in args.floors:
            cache = args.cache and args.cache.with_suffix(f".{floor}.npz")
            if cache and cache.exists():
                tune, held = load_halves(cache)
            else:
                engine = engine_for(Path(tmp), floor)
                tune = measure(engine, tune_in, tune_out, floor)
                held = measure(engine, report_in, report_out, floor)
                if cache:
                    save_halves(cache, tune, held)
            model = fit(tune, args.strength)
            threshold, hit3 = choose(tune, chances(model, tune), args.declined)
            print(f"floor {floor}: tune threshold {threshold:.2f} -> tune hit@3 {hit3:.1%}")
            for name, half in (("tune", tune), ("report", held))[: 1 + args.report]:
                alone = outcome(half, np.ones(len(half.answerable)), 0.0)
                print(f"  without the model, {name} half: " + _figures(alone))
            results.append((hit3, floor, threshold, model, tune, held))
    hit3, floor, threshold, model, tune, held = max(results, key=lambda r: r[0])
    tune_at = outcome(tune, chances(model, tune), threshold)
    lines = [
        "## Fitted decline on SQuAD v1.1 dev (tools/fit_decline.py)",
        "",
        f"Chosen on the tune half: floor {floor}, threshold {threshold:.2f}.",
        "Tune half at it: " + _figures(tune_at),
        "",
        *report(curve(tune, chances(model, tune)), "Tune half: trade-off by threshold"),
        "",
    ]
    if args.report:  # the held-out figures: read once, never used for choosing
        held_at = outcome(held, chances(model, held), threshold)
        lines[4:4] = ["Report half (held out) at it: " + _figures(held_at)]
        lines += [
            *report(curve(held, chances(model, held)), "Report half: trade-off by threshold"),
            "",
        ]
    print("\n".join(lines))
    args.out.write_text("\n".join(lines), encoding="utf-8")
    if args.write:
        path = ROOT / "bot" / "core" / "data" / MODEL_FILE
        path.write_text(json.dumps(model_json(model, threshold, floor), indent=1) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
