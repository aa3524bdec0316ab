"""One quotation over several sentences has one speaker: carry it to every sentence.

House styles open a quotation, run it over two or three sentences and name the speaker
only at its end (`"We lost a week. Trade will recover," he said.`). Sentence by
sentence, the first sentences have no speaker, so a question about him could not
find them. Within a paragraph, sentences joined by a quotation still open at the end
of one are one run; a sentence of the run without a speaker takes the run's.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.models import Attribution

# A run longer than this is more likely an unbalanced mark (an inch sign, a stray quote)
# than one quotation: it is left alone.
RUN_MAX_SENTENCES = 6


def still_open(text: str, inside: bool) -> bool:
    """Whether a quotation is open at the end of ``text`` that was (or was not) open at its start.

    A curly mark sets the state and a straight one flips it, so the last curly mark
    and the straight ones after it decide: found by searches, not a walk over every
    character.
    """
    last = max(text.rfind("“"), text.rfind("”"))
    if last >= 0:
        inside = text[last] == "“"
    return inside ^ (text.count('"', last + 1) % 2 == 1)


def carry_through_quotes(
    texts: Sequence[str],
    paragraphs: Sequence[int],
    found: Sequence[tuple[Attribution, ...]],
) -> tuple[tuple[Attribution, ...], ...]:
    """``found`` with each quotation's speaker given to its sentences that had none."""
    out = list(found)
    run: list[int] = []
    inside = False
    for i, text in enumerate(texts):
        if run and paragraphs[i] != paragraphs[run[-1]]:
            _share(run, out)
            run, inside = [], False
        run.append(i)
        inside = still_open(text, inside)
        if not inside:
            _share(run, out)
            run = []
    _share(run, out)
    return tuple(out)


def _share(run: list[int], out: list[tuple[Attribution, ...]]) -> None:
    if not 1 < len(run) <= RUN_MAX_SENTENCES:
        return
    speakers = next((out[i] for i in run if out[i]), ())
    for i in run:
        if not out[i]:
            out[i] = speakers
