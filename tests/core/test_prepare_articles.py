"""Articles prepared in a batch are what each one prepared alone is (#19).

``prepare_articles`` has the learned tagger tag the sentences of a whole batch at once;
an article's result must not depend on the articles beside it, and one whose sentences
make that step raise costs only itself.
"""

from __future__ import annotations

import gc

from bot.core.index.tokenize import Tokenizer
from bot.core.ingest import document, prepare
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
    assert batch == [document.prepare_articles([raw], splitter, tok)[0] for raw in raws]
    assert sum(len(p.sentences) for p in batch) > 30
    if BBC.is_file():  # beside the repository: enough text that the learned tagger finds cues
        assert sum(len(p.sentences) for p in batch) > 500
        learned = LEARNED_CUE
        assert any(a.cue == learned for p in batch for found in p.attributions for a in found)


def test_an_article_whose_mentions_raise_costs_only_itself(monkeypatch):
    raws = [*_raws()[:8], RawArticle(Source("odd.txt"), "The mayor said the odd thing.\n")]
    splitter, tok = SentenceSplitter.train(r.text for r in raws), Tokenizer()
    alone = [document.prepare_articles([raw], splitter, tok)[0] for raw in raws[:-1]]
    real = document.learned_mentions

    def fragile(parts):  # the batch's tagging meets a bug in one article's sentences
        if any("odd thing" in s for part in parts for s in part.sentences):
            raise IndexError("a bug this sentence meets")
        return real(parts)

    monkeypatch.setattr(document, "learned_mentions", fragile)
    *prepared, odd = document.prepare_articles(raws, splitter, tok)
    assert prepared == alone
    assert isinstance(odd, IndexError)


def test_a_batch_is_prepared_with_the_collector_paused_and_leaves_it_as_it_was(monkeypatch):
    raws = _raws()[:3]
    splitter, tok = SentenceSplitter.train(r.text for r in raws), Tokenizer()
    seen = []
    real = prepare.prepare_articles

    def watched(*args):
        seen.append(gc.isenabled())
        return real(*args)

    monkeypatch.setattr(prepare, "prepare_articles", watched)
    assert gc.isenabled()
    made = prepare._prepare(raws, splitter, tok)
    assert seen == [False] and gc.isenabled()
    assert made.table.sentences == sum(len(p.sentences) for p in real(raws, splitter, tok))
    gc.disable()  # whoever turned it off keeps it off
    try:
        prepare._prepare(raws, splitter, tok)
        assert seen == [False, False] and not gc.isenabled()
    finally:
        gc.enable()
    # pauses overlap when threads prepare at once: it runs again when the last one ends
    first, second = prepare.collector_paused(), prepare.collector_paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()
