"""Fit the sentence furniture model on half the extraction pages; report on the other half.

Input: the labelled sentences ``bench/furniture.py --sentences FILE`` writes (every
sentence the bot may quote on the 181 pages, *body* when it is in the page's
ground-truth article body). Pages are split by sorted id: even places fit, odd
places are held out (``bench/furniture.py`` reports them apart too).

A scikit-learn logistic regression learns "not body" from the features of
``bot/core/ingest/sentence_furniture.py``. The threshold is the lowest chance at
which at most ``--max-body-loss`` of the fit half's body sentences would be dropped:
losing article text is worse than quoting a stray line. The held-out half's
figures at that threshold are printed; ``--ablate`` also prints the held-out
figures with each feature left out in turn (which features help). ``--write``
writes the coefficients to ``bot/core/data/furniture_model.json``.

    .venv/bin/python tools/fit_furniture.py SENTENCES.jsonl [--max-body-loss 0.001] [--write]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.ingest.sentence_furniture import FEATURES, MODEL_FILE, features  # noqa: E402


def load(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, not-body labels, and whether each sentence's page is held out."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    pages = sorted({r["page"] for r in rows})
    held = set(pages[1::2])
    x = np.array([features(r["text"], r["whole_paragraph"], r["title"], r["after"]) for r in rows])
    y = np.array([not r["body"] for r in rows])
    return x, y, np.array([r["page"] in held for r in rows])


def fit(x: np.ndarray, y: np.ndarray) -> tuple[StandardScaler, LogisticRegression]:
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(max_iter=2000, C=1.0).fit(scaler.transform(x), y)
    return scaler, model


def chance(model: tuple[StandardScaler, LogisticRegression], x: np.ndarray) -> np.ndarray:
    scaler, fitted = model
    return fitted.predict_proba(scaler.transform(x))[:, 1]


def threshold_for(p: np.ndarray, y: np.ndarray, max_loss: float) -> float:
    """The lowest cut dropping at most ``max_loss`` of the body sentences."""
    body = np.sort(p[~y])[::-1]
    allowed = int(max_loss * body.size)
    return float(body[allowed]) + 1e-9 if allowed < body.size else 0.0


def figures(p: np.ndarray, y: np.ndarray, cut: float) -> str:
    dropped = p >= cut
    return (
        f"not-body caught {dropped[y].sum()}/{y.sum()} ({dropped[y].mean():.1%}), "
        f"body dropped {dropped[~y].sum()}/{(~y).sum()} ({dropped[~y].mean():.2%})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sentences", type=Path)
    parser.add_argument("--max-body-loss", type=float, default=0.001)
    parser.add_argument("--ablate", action="store_true")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    x, y, held = load(args.sentences)
    tune = ~held
    model = fit(x[tune], y[tune])
    cut = threshold_for(chance(model, x[tune]), y[tune], args.max_body_loss)
    print(f"{len(y)} sentences, {y.sum()} not body; threshold {cut:.3f} (fit half)")
    print("fit half:      " + figures(chance(model, x[tune]), y[tune], cut))
    print("held-out half: " + figures(chance(model, x[held]), y[held], cut))
    for name, w in zip(FEATURES, model[1].coef_[0], strict=True):
        print(f"  {name:16s} {w:+.2f}")
    if args.ablate:
        for i, name in enumerate(FEATURES):
            keep = [j for j in range(len(FEATURES)) if j != i]
            m = fit(x[tune][:, keep], y[tune])
            c = threshold_for(chance(m, x[tune][:, keep]), y[tune], args.max_body_loss)
            print(f"without {name:16s}: " + figures(chance(m, x[held][:, keep]), y[held], c))
    if args.write:
        scaler, fitted = model
        data = {
            "about": "Sentence furniture model; fitted by tools/fit_furniture.py on half the "
            "extraction benchmark's pages. Inputs: bot/core/ingest/sentence_furniture.py.",
            "features": list(FEATURES),
            "mean": [round(float(v), 6) for v in scaler.mean_],
            "scale": [round(float(v), 6) for v in scaler.scale_],
            "weights": [round(float(v), 6) for v in fitted.coef_[0]],
            "intercept": round(float(fitted.intercept_[0]), 6),
            "threshold": round(cut, 6),
        }
        path = ROOT / "bot" / "core" / "data" / MODEL_FILE
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
