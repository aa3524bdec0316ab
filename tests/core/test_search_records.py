"""Paragraph records built per article are the ones built a paragraph at a time (#16).

``records`` builds every paragraph of an article from columns computed once over the
article; the oracle here is the construction it replaced, one paragraph at a time with
its own numpy calls. The JSON of every sentence document must be the same bytes.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.answer.engine import Engine
from bot.core.index.arrays import distinct
from bot.core.index.table import CorpusTable
from bot.core.index.tokenize import Tokenizer
from bot.core.ingest.document import prepare_articles
from bot.core.ingest.raw import RawArticle
from bot.core.ingest.sentences import SentenceSplitter
from bot.core.models import Source
from bot.core.search import paragraphs as P
from bot.core.search import wire
from tests.core.shortcut_texts import BBC, corpus_texts, tricky_text


def oracle(table: CorpusTable, number: int) -> list[dict[str, Any]]:
    """Per sentence, its paragraph's record, built one paragraph at a time (the old way)."""
    c = table.columns
    s0, s1 = (int(x) for x in c["article_sentences"][number : number + 2])
    counts = _article_counts(table, s0, s1)
    source = table.sources[number].to_json()
    body = table.text(number)
    blocks = c["sent_paragraph"][s0:s1]
    out: list[dict[str, Any]] = []
    first = s0
    while first < s1:
        last = first
        while last + 1 < s1 and blocks[last + 1 - s0] == blocks[first - s0]:
            last += 1
        record = _record(table, first, last + 1, counts, s1 - s0, body, source)
        out.extend([record] * (last + 1 - first))
        first = last + 1
    return out


def _article_counts(table: CorpusTable, s0: int, s1: int) -> dict[int, int]:
    offsets = table.columns["sentence_terms"]
    t0, t1 = int(offsets[s0]), int(offsets[s1])
    terms = table.columns["terms"][t0:t1].astype(np.int64)
    owner = np.repeat(np.arange(s1 - s0, dtype=np.int64), np.diff(offsets[s0 : s1 + 1]))
    pairs = distinct(owner * max(len(table.vocabulary), 1) + terms)
    found, counts = np.unique(pairs % max(len(table.vocabulary), 1), return_counts=True)
    return dict(zip(found.tolist(), counts.tolist(), strict=True))


def _record(
    table: CorpusTable,
    p0: int,
    p1: int,
    counts: Mapping[int, int],
    sentences: int,
    body: str,
    source: Mapping[str, Any],
) -> dict[str, Any]:
    c = table.columns
    t0, t1 = int(c["sentence_terms"][p0]), int(c["sentence_terms"][p1])
    a0, a1 = int(c["sentence_attrs"][p0]), int(c["sentence_attrs"][p1])
    n0, n1 = int(c["attr_names"][a0]), int(c["attr_names"][a1])
    terms, names = c["terms"][t0:t1], c["names"][n0:n1]
    used = distinct(np.concatenate([terms, names]).astype(np.int64))
    start = int(c["sent_start"][p0])
    end = int(c["sent_end"][p1 - 1])
    ints = {name: c[name][p0:p1].astype(np.int32) for name in P.INT_SENTENCE[:6]}
    ints["sent_start"] = ints["sent_start"] - start
    ints["sent_end"] = ints["sent_end"] - start
    ints["term_counts"] = np.diff(c["sentence_terms"][p0 : p1 + 1]).astype(np.int32)
    ints["attr_counts"] = np.diff(c["sentence_attrs"][p0 : p1 + 1]).astype(np.int32)
    attrs = {name: c[name][a0:a1].astype(np.int32) for name in P.INT_ATTRIBUTION[:3]}
    attrs["name_counts"] = np.diff(c["attr_names"][a0 : a1 + 1]).astype(np.int32)
    numbers = np.concatenate([ints["sent_heading"], *(attrs[n] for n in P.INT_ATTRIBUTION[:3])])
    strings_used = distinct(numbers[numbers >= 0].astype(np.int64))
    for column in (ints, attrs):
        for name in P.STRING_COLUMNS:
            if name in column:
                values = column[name]
                column[name] = np.where(
                    values >= 0, np.searchsorted(strings_used, values), values
                ).astype(np.int32)
    header = np.zeros(P.HEADER, dtype=np.int32)
    header[:5] = (p1 - p0, a1 - a0, t1 - t0, n1 - n0, used.size)
    packed = b"".join(
        [
            header.tobytes(),
            c["sent_quoted"][p0:p1].astype(np.float64).tobytes(),
            *(ints[name].tobytes() for name in P.INT_SENTENCE),
            *(attrs[name].tobytes() for name in P.INT_ATTRIBUTION),
            np.searchsorted(used, terms).astype(np.int32).tobytes(),
            np.searchsorted(used, names).astype(np.int32).tobytes(),
            np.array([counts.get(t, 0) for t in used.tolist()], dtype=np.int32).tobytes(),
            *(c[name][p0:p1].astype(np.uint8).tobytes() for name in P.BOOL_SENTENCE),
        ]
    )
    packed += bytes(-len(packed) % P.ALIGN)
    return {
        "v": P.RECORD_VERSION,
        "b": base64.b64encode(packed).decode("ascii"),
        "w": [table.vocabulary[i] for i in used.tolist()],
        "s": [table.strings[i] for i in strings_used.tolist()],
        "t": body[start:end],
        "o": start,
        "f": int(c["sent_position"][p0]),
        "c": p1 - p0,
        "n": sentences,
        "src": dict(source),
    }


def differences(table: CorpusTable, batch: int = 3) -> list[str]:
    """Where ``records`` and the oracle differ: per sentence, the JSON the bulk sends.

    Built one article at a time (``records``) and ``batch`` articles at a time
    (``records_of``), both must be the oracle's.
    """
    out = []
    batched = [
        made
        for first in range(0, table.articles, batch)
        for made in P.records_of(table, first, min(first + batch, table.articles))
    ]
    assert len(batched) == table.articles
    for number in range(table.articles):
        theirs = oracle(table, number)
        for how, mine in (("alone", P.records(table, number)), ("batched", batched[number])):
            if len(mine) != len(theirs):
                out.append(f"article {number} {how}: {len(mine)} records, not {len(theirs)}")
                continue
            for n, (a, b) in enumerate(zip(mine, theirs, strict=True)):
                if wire.dumps(a) != wire.dumps(b):
                    out.append(f"article {number} {how} sentence {n}")
            # One dict per paragraph, shared by its sentences, as before.
            if _sharing(mine) != _sharing(theirs):
                out.append(f"article {number} {how}: records not shared per paragraph")
    return out


def _sharing(records: list[dict[str, Any]]) -> list[int]:
    """For each record, the first place the same dict object stands."""
    ids = [id(record) for record in records]
    return [ids.index(i) for i in ids]


def _table(texts: list[str]) -> CorpusTable:
    raws = [
        RawArticle(Source(f"{i:04d}.txt", text.splitlines()[0] if text else "", "Press"), text)
        for i, text in enumerate(texts)
    ]
    splitter = SentenceSplitter.train(r.text for r in raws)
    tokenizer = Tokenizer()
    return CorpusTable.of(prepare_articles(raws, splitter, tokenizer))


def test_seed_records_are_the_paragraph_at_a_time_ones(seed_engine: Engine) -> None:
    table = seed_engine.table
    assert table.sentences > 20
    assert differences(table) == []


def test_corpus_records_are_the_paragraph_at_a_time_ones() -> None:
    table = _table(corpus_texts())
    # Speakers, cues and names, and paragraphs of several sentences, are there to compare
    # (the seeds alone in a clone without the BBC articles beside it).
    assert table.columns["attr_speaker"].size > 5 and table.columns["names"].size > 5
    assert np.any(np.diff(table.columns["sent_paragraph"]) == 0)
    if BBC.is_file():
        assert table.articles >= 10
        assert table.columns["attr_speaker"].size > 50 and table.columns["names"].size > 50
    assert differences(table) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(tricky_text(), min_size=1, max_size=6), min_size=1, max_size=4))
def test_random_records_are_the_paragraph_at_a_time_ones(articles: list[list[str]]) -> None:
    # Paragraphs of random text, some with quotes and speakers among the pieces.
    texts = ["\n\n".join(part for part in parts) for parts in articles]
    table = _table(texts)
    assert differences(table) == []


def test_the_comparison_sees_a_changed_record(
    seed_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Break the new build in ways a slip could: the comparison must say so."""
    table = seed_engine.table
    real = P.records

    def shifted(table: CorpusTable, number: int) -> list[dict[str, Any]]:
        out = real(table, number)
        last = out[-1]
        last["b"] = last["b"][:-4] + ("AAAA" if last["b"][-4:] != "AAAA" else "AAAB")
        return out

    monkeypatch.setattr(P, "records", shifted)
    assert differences(table)
    monkeypatch.setattr(P, "records", lambda t, n: [dict(r) for r in real(t, n)])
    assert differences(table)  # same values, but no longer one dict per paragraph
    monkeypatch.setattr(P, "records", lambda t, n: [{**r, "n": r["n"] + 1} for r in real(t, n)])
    assert differences(table)
    monkeypatch.setattr(P, "records", real)
    assert not differences(table)
    batched = P.records_of
    monkeypatch.setattr(P, "records_of", lambda t, a, b: batched(t, a, b)[::-1])
    assert differences(table)  # the articles of a batch out of order
