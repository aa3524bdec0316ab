"""Whether to answer a fact question at all: a small fitted model instead of one threshold.

One hand-set coverage floor cannot tell "the corpus answers this" from "the corpus
shares a few of its words": on SQuAD it declined only about half of the questions
whose article is not in the corpus. Several weak signals of the best candidates
say more together than coverage alone: how much of the question's word weight the
corpus knows at all (an out-of-corpus question names things no article has), how
much the best sentences cover and score against what they could, whether the best
holds the kind of thing asked for (a number, a date, a name). How far the best beats
the next one and whether the best three share an article were measured too and left
out: news repeats a story across articles (wire copies), Wikipedia does not, so those
two learn SQuAD's corpus, not answerability (they declined answerable seed questions).

The decision is a logistic regression over those signals, fitted once by
``tools/fit_decline.py`` on one half of SQuAD v1.1 dev (split by article) and
shipped as its coefficients in ``bot/core/data/decline_model.json``: no learning
library at run time, only a dot product. The other half is kept for reporting.
It applies to fact questions; whose-words questions keep their own declines (no
such speaker, never quoted), which the speaker rules measure.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from bot.core.answer.answer_type import expected, offers
from bot.core.answer.indexed import IndexedCorpus
from bot.core.answer.need import Need
from bot.core.answer.question import ParsedQuestion
from bot.core.answer.rank import Ranked

MODEL_FILE = "decline_model.json"
# The order of the model's inputs; the data file names them, and loading checks they agree.
FEATURES = (
    "top_coverage",
    "best_coverage",
    "top_bm25_share",
    "known_weight",
    "unknown_name",
    "key_terms",
    "type_asked",
    "type_offered",
)


@dataclass(frozen=True, slots=True)
class DeclineModel:
    """A fitted logistic model: standardised features, weights, and the cut it answers above."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    intercept: float
    threshold: float  # answer when the modelled chance of an answerable question is this or more
    floor: float  # the coverage floor the features were measured with (the ranking's own)

    def probability(self, features: Sequence[float]) -> float:
        """The modelled chance that the corpus answers the question."""
        z = self.intercept + sum(
            w * (x - m) / s
            for w, x, m, s in zip(self.weights, features, self.mean, self.scale, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@cache
def bundled_model() -> DeclineModel:
    """The model shipped in ``bot/core/data``; a file that does not fit the code is an error."""
    raw = resources.files("bot.core").joinpath(f"data/{MODEL_FILE}").read_text("utf-8")
    return model_from_json(json.loads(raw))


def model_from_json(data: dict) -> DeclineModel:
    """Read a model from its JSON form, checking that it names the features this code makes."""
    if tuple(data.get("features", ())) != FEATURES:
        raise ValueError(
            f"{MODEL_FILE}: features {data.get('features')!r} differ from the code's {FEATURES!r};"
            " run tools/fit_decline.py again"
        )
    vectors = [tuple(float(v) for v in data[k]) for k in ("mean", "scale", "weights")]
    if any(len(v) != len(FEATURES) for v in vectors) or min(vectors[1]) <= 0:
        raise ValueError(f"{MODEL_FILE}: mean, scale and weights need one value per feature")
    return DeclineModel(
        *vectors, float(data["intercept"]), float(data["threshold"]), float(data["floor"])
    )


def features(
    parsed: ParsedQuestion,
    need: Need,
    ranked: Sequence[Ranked],
    corpus: IndexedCorpus,
    unknown_name: bool,
) -> tuple[float, ...]:
    """The model's inputs for a fact question and its ranked candidates (best first, non-empty).

    ``known_weight`` is the share of the question's key-term weight the corpus has at
    all, a term no article has weighing what the rarest possible term does.
    ``top_bm25_share`` is the best sentence's BM25 score over what a sentence holding
    every known key term once would score at most (the sum of their IDFs, times k1+1).
    """
    index = corpus.index
    rarest = math.log((index.size + 0.5) / 0.5)
    known = sum(idf for _, idf in need.weighted)
    missing = len(need.key) - len(need.weighted)
    known_weight = known / (known + rarest * missing) if known + missing else 0.0
    top = ranked[0]
    raw = float(index.scores_of(need.terms, np.array([top.doc], dtype=np.int64))[0])
    ceiling = known * (index.params.k1 + 1.0)
    kind = expected(parsed.text)
    offered = kind is not None and offers(kind, parsed.text)(corpus.sentence_text(top.doc))
    return (
        top.coverage,
        max(item.coverage for item in ranked[:3]),
        raw / ceiling if ceiling > 0 else 0.0,
        known_weight,
        float(unknown_name),
        math.log(1 + len(need.key)),
        float(kind is not None),
        float(offered),
    )
