"""Articles prepared in a batch are what each one prepared alone is (#19).

``prepare_articles`` has the learned tagger tag the sentences of a whole batch at once;
an article's result must not depend on the articles beside it, and one whose sentences
make that step raise costs only itself.
"""

from __future__ import annotations

from bot.core.index.tokenize import Tokenizer
from bot.core.ingest import document
from bot.core.ingest.raw import RawArticle
from bot.core.ingest.sentences import SentenceSplitter
from bot.core.ingest.speakers import LEARNED_CUE
from bot.core.models import Source
from tests.core.shortcut_texts import BBC, corpus_texts


def _raws() -> list[RawArticle]:
    return [RawArticle(Source(f"a{i:03}.txt"), text) for i, text in enumerate(corpus_texts()[:60])]


def test_a_batch_is_its_articles_prepared_one_by_one():
    raws = _raws()
    splitter, tok = SentenceSplitter.train(r.text for r in raws), Tokenizer()
    batch = document.prepare_articles(raws, splitter, tok)
    assert batch == [document.prepare_article(raw, splitter, tok) for raw in raws]
    assert sum(len(p.sentences) for p in batch) > 30
    if BBC.is_file():  # beside the repository: enough text that the learned tagger finds cues
        assert sum(len(p.sentences) for p in batch) > 500
        learned = LEARNED_CUE
        assert any(a.cue == learned for p in batch for found in p.attributions for a in found)


def test_an_article_whose_mentions_raise_costs_only_itself(monkeypatch):
    raws = [*_raws()[:8], RawArticle(Source("odd.txt"), "The mayor said the odd thing.\n")]
    splitter, tok = SentenceSplitter.train(r.text for r in raws), Tokenizer()
    alone = [document.prepare_article(raw, splitter, tok) for raw in raws[:-1]]
    real = document.learned_mentions

    def fragile(parts):  # the batch's tagging meets a bug in one article's sentences
        if any("odd thing" in s for part in parts for s in part.sentences):
            raise IndexError("a bug this sentence meets")
        return real(parts)

    monkeypatch.setattr(document, "learned_mentions", fragile)
    *prepared, odd = document.prepare_articles(raws, splitter, tok)
    assert prepared == alone
    assert isinstance(odd, IndexError)
