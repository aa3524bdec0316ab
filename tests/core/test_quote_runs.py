from hypothesis import given
from hypothesis import strategies as st

from bot.core.ingest.quote_runs import carry_through_quotes, still_open
from bot.core.models import Attribution

DOE = (Attribution("Jane Doe", "said"),)


def test_a_quotation_over_three_sentences_gives_its_speaker_to_all_three():
    texts = [
        "“We lost a week.",
        "Nobody warned us.",
        "Trade will recover,” Doe said.",
        "Rain fell.",
    ]
    found = carry_through_quotes(texts, [0, 0, 0, 0], [(), (), DOE, ()])
    assert found == (DOE, DOE, DOE, ())


def test_a_run_stops_at_the_paragraph_end():
    texts = ["“We lost a week.", "“Trade will recover,” Doe said."]
    assert carry_through_quotes(texts, [0, 1], [(), DOE]) == ((), DOE)


def test_sentences_with_their_own_speaker_keep_it():
    other = (Attribution("Tom Baxter", "said"),)
    texts = ['"We lost a week," Baxter said, "and', 'trade will recover," Doe added.']
    assert carry_through_quotes(texts, [0, 0], [other, DOE]) == (other, DOE)


def test_straight_and_curly_marks_open_and_close():
    assert still_open('He said "we', inside=False)
    assert not still_open('we lost," he said.', inside=True)
    assert not still_open("“Closed.”", inside=False)


def _walked(text: str, inside: bool) -> bool:
    for char in text:
        if char == "“":
            inside = True
        elif char == "”":
            inside = False
        elif char == '"':
            inside = not inside
    return inside


@given(st.text(alphabet='“”"a ', max_size=16), st.booleans())
def test_the_open_quotation_is_the_one_a_walk_over_every_character_finds(text, inside):
    assert still_open(text, inside) == _walked(text, inside)
