"""``punkt``'s trainer learns what NLTK's own learns, and its tokens carry the same annotations."""

from pathlib import Path

import pytest
from nltk.tokenize.punkt import PunktToken, PunktTrainer

from bot.core.ingest import punkt

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
WORDS = [
    "Mr.", "J.", "U.S.", "3.5", "1,000.", "-2.", ".5", "...", "..", "?", "!", ".", ",", "said.",
    "The", "the", "İstanbul.", "²", "١٢.", "--", "(", "“", "x", "e.g.", "ex-Gov.", "2nd.", "A.B",
]  # fmt: skip


def _learnt(trainer: PunktTrainer, text: str) -> tuple:
    trainer.train(text, finalize=True)
    params = trainer.get_params()
    return (
        params.abbrev_types,
        params.collocations,
        params.sent_starters,
        dict(params.ortho_context),
    )


@pytest.mark.parametrize("source", ["seeds", "tricky"])
def test_training_learns_what_nltks_trainer_learns(source):
    if source == "seeds":
        text = "\n\n".join(p.read_text("utf-8") for p in sorted(SEEDS.glob("*.txt")))
    else:
        text = " ".join(
            WORDS[i % len(WORDS)] + " " + WORDS[(i * 7) % len(WORDS)] for i in range(3000)
        )
        text += "\n\n" + "Dr. Smith said. He left. J. S. Bach wrote. It rained.\n" * 50
    assert text.strip()
    assert _learnt(punkt.trainer(), text) == _learnt(PunktTrainer(), text)


@pytest.mark.parametrize("word", WORDS)
def test_a_token_has_nltks_annotations(word):
    for params in ({}, {"parastart": True, "linestart": True}):
        for _ in range(2):  # the second time from the remembered type
            ours, theirs = punkt._Token(word, **params), PunktToken(word, **params)
            for slot in PunktToken.__slots__:
                assert getattr(ours, slot) == getattr(theirs, slot)
            assert bool(ours.is_non_punct) == bool(theirs.is_non_punct)
            assert bool(ours.is_initial) == bool(theirs.is_initial)
            assert bool(ours.is_number) == bool(theirs.is_number)
