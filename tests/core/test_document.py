"""An article's own pieces of preparation, against the plain code they replaced (#19)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.index.tokenize import Tokenizer
from bot.core.ingest.document import _speech_once

TOK = Tokenizer()


def _speech_once_reference(terms):
    seen, out = False, []
    for term in terms:
        if term == TOK.speech_term:
            if seen:
                continue
            seen = True
        out.append(term)
    return out


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([TOK.speech_term, "harbour", "not", "say!", ""]), max_size=12))
def test_one_speech_term_is_kept_as_the_plain_walk_keeps_it(terms):
    assert _speech_once(TOK, list(terms)) == _speech_once_reference(terms)
