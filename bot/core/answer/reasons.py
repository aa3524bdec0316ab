"""A chosen passage as the ``Answer`` a door shows: the verbatim quote and why it was picked."""

from __future__ import annotations

import numpy as np

from bot.core.answer.indexed import IndexedCorpus
from bot.core.answer.need import Need
from bot.core.answer.passages import Chosen
from bot.core.models import Answer


def answer_of(corpus: IndexedCorpus, chosen: Chosen, need: Need) -> Answer:
    """The answer for ``chosen``: its quote sliced from the article, speaker and reasons."""
    span, item = chosen.span, chosen.ranked
    doc = item.doc
    article = int(corpus.article[doc])
    table = corpus.table
    start, end = int(corpus.start[span[0]]), int(corpus.end[span[-1]])
    present = set(np.concatenate([table.terms_of(i) for i in span]).tolist())
    matched = tuple(t for t in dict.fromkeys(need.terms) if corpus.term.get(t, -1) in present)
    wanted = {corpus.term.get(t, -1) for t in need.speaker}
    attributions = table.attributions(doc)
    first = int(table.columns["sentence_attrs"][doc])
    speaker, why = None, []
    for number, attribution in enumerate(attributions, start=first):
        if need.speaker and wanted <= set(table.name_terms(number).tolist()):
            speaker = attribution.speaker
            via = f" (from “{attribution.resolved_from}”)" if attribution.resolved_from else ""
            why.append(f"speaker matches: {attribution.speaker}{via}")
            break
    if speaker is None and attributions:
        speaker = attributions[0].speaker
    if matched:
        why.append("matched terms: " + ", ".join(matched))
    if corpus.quoted[doc] > 0:
        why.append(f"direct quotation ({corpus.quoted[doc]:.0%} of the sentence)")
    return Answer(
        quote=corpus.text(article)[start:end],
        sources=chosen.sources,
        score=item.value,
        article=article,
        start=start,
        end=end,
        sentences=tuple(span),
        matched_terms=matched,
        speaker=speaker,
        why=tuple(why),
        coverage=item.coverage,
    )
