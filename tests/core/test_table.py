"""The corpus as columns: built at once or merged from parts, it is the same table."""

from __future__ import annotations

import threading
from itertools import pairwise

import numpy as np
import pytest

from bot.core.answer.engine import Engine
from bot.core.index import table as table_module
from bot.core.index.table import CorpusTable, Packed, TableJoin
from bot.core.index.tokenize import Tokenizer
from bot.core.ingest.document import prepare_articles
from bot.core.ingest.prepare import prepare_table, start_training, train_splitter
from bot.core.ingest.raw import RawArticle
from bot.core.ingest.sentences import SentenceSplitter
from bot.core.models import Source
from tests.conftest import NEWS, SPORT
from tests.core.shortcut_texts import corpus_texts

CHINA = """Beijing urges calm

China’s foreign ministry said on Sunday that the mutiny was “Russia’s internal affair”.

“We support Russia in maintaining national stability,” a ministry spokesperson said.
"""
ÉTÉ = """Festival d’été

The organisers said the café stage would open at noon, “rain or shine”.

Mayor Tom Reilly said the harbour fireworks would go ahead.
"""


def raw(name: str, text: str) -> RawArticle:
    return RawArticle(Source(name, text.splitlines()[0], "Test Press"), text)


ARTICLES = {
    "a-news.txt": raw("a-news.txt", NEWS),
    "b-china.txt": raw("b-china.txt", CHINA),
    "c-sport.txt": raw("c-sport.txt", SPORT),
    "d-ete.txt": raw("d-ete.txt", ÉTÉ),
}


@pytest.fixture(scope="module")
def prepare():
    splitter = SentenceSplitter.train(a.text for a in ARTICLES.values())
    tokenizer = Tokenizer()

    def table(*names: str) -> CorpusTable:
        return CorpusTable.of(prepare_articles([ARTICLES[n] for n in names], splitter, tokenizer))

    return table


def assert_same_table(mine: CorpusTable, theirs: CorpusTable) -> None:
    assert mine.sources == theirs.sources and mine.digests == theirs.digests
    assert mine.vocabulary == theirs.vocabulary
    assert mine.texts.tolist() == theirs.texts.tolist()
    assert mine.strings.tolist() == theirs.strings.tolist()
    assert mine.columns.keys() == theirs.columns.keys()
    for name, column in mine.columns.items():
        assert column.dtype == theirs.columns[name].dtype, name
        assert np.array_equal(column, theirs.columns[name]), name


def words(table: CorpusTable) -> list[list[str]]:
    """Each sentence's index terms, as words: what must survive any renumbering."""
    offsets = table.columns["sentence_terms"].tolist()
    terms = table.columns["terms"].tolist()
    return [[table.vocabulary[t] for t in terms[a:b]] for a, b in pairwise(offsets)]


def speakers(table: CorpusTable) -> list[list[tuple[str, str, str | None, list[str]]]]:
    first = table.columns["sentence_attrs"].tolist()
    return [
        [
            (a.speaker, a.cue, a.resolved_from, [table.vocabulary[t] for t in table.name_terms(n)])
            for n, a in enumerate(table.attributions(i), start=first[i])
        ]
        for i in range(table.sentences)
    ]


NUMBERED = {"sent_heading", "attr_speaker", "attr_cue", "attr_resolved", "terms", "names"}


def assert_same_content(mine: CorpusTable, theirs: CorpusTable) -> None:
    """The same articles, sentences and attributions, whatever numbers strings and terms got."""
    assert mine.sources == theirs.sources and mine.digests == theirs.digests
    assert mine.texts.tolist() == theirs.texts.tolist()
    assert words(mine) == words(theirs) and speakers(mine) == speakers(theirs)
    headings = [
        [t.string(int(h)) for h in t.columns["sent_heading"].tolist()] for t in (mine, theirs)
    ]
    assert headings[0] == headings[1]
    for name, column in mine.columns.items():
        if name not in NUMBERED:
            assert np.array_equal(column, theirs.columns[name]), name


def test_a_table_holds_each_sentence_and_who_speaks_in_it(prepare):
    table = prepare("a-news.txt", "b-china.txt")
    assert table.articles == 2 and table.sentences >= 6
    texts = [table.text(0), table.text(1)]
    starts, ends = table.columns["sent_start"], table.columns["sent_end"]
    offsets = table.columns["article_sentences"].tolist()
    sentences = [
        texts[a][starts[i] : ends[i]] for a in range(2) for i in range(offsets[a], offsets[a + 1])
    ]
    assert (
        "“We cannot risk another collision in this weather,” harbour master Jane Doyle said."
        in sentences
    )
    doyle = sentences.index(
        "“We cannot risk another collision in this weather,” harbour master Jane Doyle said."
    )
    assert any("Doyle" in a.speaker for a in table.attributions(doyle))
    own = {table.vocabulary[t] for t in table.terms_of(doyle, own=True).tolist()}
    assert {"collis", "weather"} <= own or {"collision", "weather"} <= own


def test_merging_parts_gives_the_table_built_at_once(prepare):
    merged = CorpusTable.merge(
        prepare("c-sport.txt", "a-news.txt"), prepare("d-ete.txt", "b-china.txt")
    )
    assert_same_content(merged, prepare("a-news.txt", "b-china.txt", "c-sport.txt", "d-ete.txt"))


def test_replacing_and_removing_articles_renumbers_and_drops_what_is_unused(prepare):
    start = prepare("a-news.txt", "b-china.txt", "c-sport.txt")
    changed = CorpusTable.merge(start, prepare("d-ete.txt", "c-sport.txt"), removed=["b-china.txt"])
    fresh = prepare("a-news.txt", "c-sport.txt", "d-ete.txt")
    assert [s.id for s in changed.sources] == ["a-news.txt", "c-sport.txt", "d-ete.txt"]
    assert_same_content(changed, fresh)
    assert "beij" not in changed.vocabulary and "beijing" not in changed.vocabulary
    assert not any("ministry" in s for s in changed.strings.tolist())
    assert set(changed.vocabulary) == set(fresh.vocabulary)


def test_a_table_survives_its_arrays(prepare):
    table = prepare("a-news.txt", "d-ete.txt")
    assert_same_table(CorpusTable.from_arrays(table.to_arrays()), table)


def test_packed_strings_keep_any_text():
    texts = ["", "plain", "café d’été", "北京", "emoji 🙂", "plain"]
    packed = Packed.of(texts)
    assert len(packed) == 6 and packed.tolist() == texts
    assert [packed[i] for i in range(6)] == texts
    assert packed.take(np.array([4, 0, 2])).tolist() == ["emoji 🙂", "", "café d’été"]
    assert Packed.of(["a", "b"]).tolist() == ["a", "b"]


def test_an_engine_after_changes_scores_as_a_fresh_build(settings):
    first = Engine.from_articles(
        [ARTICLES[n] for n in ("a-news.txt", "b-china.txt")], settings.core_options().engine
    )
    changed = first.with_changes([ARTICLES["c-sport.txt"]], removed=["b-china.txt"])
    fresh = Engine(
        CorpusTable.merge(
            CorpusTable.of([]),
            CorpusTable.of(
                prepare_articles(
                    [ARTICLES[n] for n in ("a-news.txt", "c-sport.txt")],
                    first.splitter,
                    first.tokenizer,
                )
            ),
        ),
        settings.core_options().engine,
        first.tokenizer,
        first.splitter,
    )
    for question in ["harbour closed", "what did Silva say?", "cup final goals", "ministry"]:
        terms = fresh.tokenizer(question)
        for name in ("index", "paragraphs"):
            np.testing.assert_array_equal(
                getattr(changed, name).scores(terms), getattr(fresh, name).scores(terms)
            )
        assert changed.ask(question).to_json() == fresh.ask(question).to_json()


@pytest.mark.parametrize("other_thread", [False, True], ids=["forked", "spawned"])
def test_articles_prepared_by_worker_processes_make_the_same_table(other_thread):
    splitter = SentenceSplitter.train(a.text for a in ARTICLES.values())
    tokenizer = Tokenizer()
    many = [
        RawArticle(Source(f"{n:03d}-{item.source.id}", item.source.title), item.text)
        for n in range(60)
        for item in ARTICLES.values()
    ]  # 240 articles: three batches
    seen = []
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)  # as the watcher or Discord would
    if other_thread:
        thread.start()
    try:
        prepared = prepare_table(
            many, splitter, tokenizer, lambda *p: seen.append(p), workers=2, parallel_min=1
        )
    finally:
        stop.set()
    serial = CorpusTable.of(prepare_articles(many, splitter, tokenizer))
    assert prepared.failed == ()
    assert_same_table(prepared.table, serial)
    assert seen[-1] == (240, 240, serial.sentences) and len(seen) == 3


def test_tables_joined_as_they_come_are_the_table_of_all_their_articles(prepare):
    names = list(ARTICLES)
    joined = TableJoin()
    for part in [prepare(name) for name in names[:2]] + [prepare()] + [prepare(*names[2:])]:
        joined.add(part)  # an empty part too
    table = joined.table()
    table.check()
    assert_same_table(table, prepare(*names))
    assert_same_table(CorpusTable.join(prepare(name) for name in names), prepare(*names))


@pytest.mark.parametrize("other_thread", [False, True], ids=["forked", "spawned"])
def test_punkt_trained_in_a_child_process_learns_what_training_here_learns(other_thread):
    texts = [item.text for item in ARTICLES.values()] * 3
    here = SentenceSplitter.train(texts)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    if other_thread:
        thread.start()
    try:
        apart = train_splitter(iter(texts), articles=len(texts), workers=2, parallel_min=1)
    finally:
        stop.set()
    assert apart.saved_form() == here.saved_form()
    assert apart.params.abbrev_types == here.params.abbrev_types
    assert apart.params.ortho_context == here.params.ortho_context
    for text in texts:
        for paragraph in text.split("\n\n"):
            assert apart.spans(paragraph) == here.spans(paragraph)


def test_an_interrupted_wait_for_punkt_training_leaves_no_child_behind(monkeypatch):
    import multiprocessing
    from multiprocessing.connection import Connection

    def interrupted(self):
        raise KeyboardInterrupt  # as Ctrl-C while the parent waits for the parameters

    monkeypatch.setattr(Connection, "recv", interrupted)
    texts = [item.text for item in ARTICLES.values()] * 40  # parameters over a pipe's buffer
    with pytest.raises(KeyboardInterrupt):
        train_splitter(iter(texts), articles=len(texts), workers=2, parallel_min=1)
    assert [c.name for c in multiprocessing.active_children()] == []


def test_work_done_while_punkt_trains_in_a_child_changes_nothing_it_learns():
    import multiprocessing

    texts = [item.text for item in ARTICLES.values()] * 40  # parameters over a pipe's buffer
    training = start_training(iter(texts), articles=len(texts), workers=2, parallel_min=1)
    learning = [c.name for c in multiprocessing.active_children()]
    assert learning == ["punkt-training"]  # under way before ``result`` is asked for
    splitter = training.result()
    assert splitter.saved_form() == SentenceSplitter.train(texts).saved_form()
    assert multiprocessing.active_children() == []


def test_a_cancelled_punkt_training_leaves_no_child_behind():
    import multiprocessing

    texts = [item.text for item in ARTICLES.values()] * 40
    start_training(iter(texts), articles=len(texts), workers=2, parallel_min=1).cancel()
    assert multiprocessing.active_children() == []


def test_a_joined_table_is_final(prepare):
    joined = TableJoin()
    joined.add(prepare(next(iter(ARTICLES))))
    table = joined.table()
    with pytest.raises(RuntimeError, match="after table"):
        joined.add(prepare())
    table.check()


def test_a_batch_prepared_here_trains_here(monkeypatch):
    import multiprocessing

    def no_process(*args, **kwargs):
        raise AssertionError("no child process for a batch prepared here")

    monkeypatch.setattr(multiprocessing, "get_context", no_process)
    texts = [item.text for item in ARTICLES.values()]
    for workers, articles in ((1, 5000), (2, 10)):
        splitter = train_splitter(texts, articles=articles, workers=workers)
        assert splitter.saved_form() == SentenceSplitter.train(texts).saved_form()


def test_joining_no_tables_is_an_empty_table():
    empty = CorpusTable.join([])
    assert empty.articles == empty.sentences == 0
    empty.check()
    assert_same_table(CorpusTable.merge(empty, empty), empty)


def _table_reference(prepared) -> CorpusTable:
    """``CorpusTable.of`` as first written: one sentence and one value at a time (#19)."""
    strings: dict[str, int] = {}
    vocabulary: dict[str, int] = {}

    def string(text):
        return -1 if text is None else strings.setdefault(text, len(strings))

    sentence_columns = [n for n in table_module._SENTENCE]
    rows = {name: [] for name in table_module._JOINED}
    counts = {name: [] for name in table_module._OFFSETS}
    for item in prepared:
        counts["article_sentences"].append(len(item.sentences))
        for sentence, found, doc, own, names, quoted, reports, content in zip(
            item.sentences, item.attributions, item.docs, item.own_terms,
            item.speaker_terms, item.quoted, item.reports, item.content, strict=True,
        ):  # fmt: skip
            own_len = 0
            while own_len < len(doc) and doc[own_len] in own:
                own_len += 1
            values = (
                sentence.start, sentence.end, sentence.paragraph, sentence.position,
                string(sentence.heading), quoted, reports, content, own_len,
            )  # fmt: skip
            for name, value in zip(sentence_columns, values, strict=True):
                rows[name].append(value)
            rows["terms"].extend(vocabulary.setdefault(t, len(vocabulary)) for t in doc)
            counts["sentence_terms"].append(len(doc))
            counts["sentence_attrs"].append(len(found))
            for attribution, terms in zip(found, names, strict=True):
                rows["attr_speaker"].append(string(attribution.speaker))
                rows["attr_cue"].append(string(attribution.cue))
                rows["attr_resolved"].append(string(attribution.resolved_from))
                rows["names"].extend(
                    vocabulary.setdefault(t, len(vocabulary)) for t in sorted(terms)
                )
                counts["attr_names"].append(len(terms))
    columns = {n: np.array(v, dtype=table_module._DTYPES[n]) for n, v in rows.items()}
    columns.update({name: table_module._offsets(values) for name, values in counts.items()})
    return CorpusTable(
        tuple(item.article.source for item in prepared),
        tuple(item.digest for item in prepared),
        Packed.of(item.article.text for item in prepared),
        Packed.of(strings),
        tuple(vocabulary),
        columns,
    )


def test_a_table_is_built_as_one_value_at_a_time_built_it():
    texts = corpus_texts()
    raws = [raw(f"{n:04d}.txt", text) for n, text in enumerate(texts)]
    raws += list(ARTICLES.values())
    splitter = SentenceSplitter.train(a.text for a in raws)
    tokenizer = Tokenizer()
    prepared = prepare_articles(raws, splitter, tokenizer)
    # the seeds alone hold 52 sentences (the BBC articles, when beside the project, add more)
    assert sum(len(p.sentences) for p in prepared) > 40
    assert any(a.resolved_from for p in prepared for found in p.attributions for a in found)
    assert any(s.heading for p in prepared for s in p.sentences)
    assert_same_table(CorpusTable.of(prepared), _table_reference(prepared))
