"""The fitted decline model: shipped coefficients that fit the code, and declines a user sees."""

import json
from importlib import resources

import pytest

from bot.core.answer.decline import (
    FEATURES,
    MODEL_FILE,
    TreesModel,
    bundled_model,
    model_from_json,
)
from bot.core.answer.engine import Engine
from bot.core.ingest.raw import RawArticle
from bot.core.models import Source
from tests.conftest import NEWS, SPORT, make_settings


@pytest.fixture(scope="module")
def fitted() -> Engine:
    """The two small articles, with the fitted decline model on."""
    articles = [
        RawArticle(Source("news/storm.txt", "Storm closes harbour", "Coast Courier"), NEWS),
        RawArticle(Source("sport/final.txt", "Rovers win the cup final", None), SPORT),
    ]
    options = make_settings(fitted_decline=True).core_options().engine
    return Engine.from_articles(articles, options)


def shipped() -> dict:
    return json.loads(resources.files("bot.core").joinpath(f"data/{MODEL_FILE}").read_text())


def test_the_shipped_model_names_the_features_the_code_makes():
    model = bundled_model()
    assert isinstance(model, TreesModel)
    assert model.trees
    used = {node[0] for tree in model.trees for node in tree}
    assert used - {-1} <= set(range(len(FEATURES)))
    assert 0 < model.threshold < 1


def small_trees(**change) -> dict:
    """A two-tree model over the code's features: split on input 0, then a stump on input 2."""
    trees = [
        {"feature": [0, -1, -1], "cut": [0.5, 0, 0], "left": [1, -1, -1],
         "right": [2, -1, -1], "value": [0, -1.0, 2.0]},
        {"feature": [2, -1, -1], "cut": [0.3, 0, 0], "left": [1, -1, -1],
         "right": [2, -1, -1], "value": [0, 0.5, -0.5]},
    ]  # fmt: skip
    data = {"kind": "trees", "features": list(FEATURES), "base": 0.25, "rate": 0.5}
    return data | {"trees": trees, "threshold": 0.5, "floor": 0.0} | change


@pytest.mark.parametrize(
    ("first", "third", "log_odds"),
    [(0.2, 0.1, 0.25 + 0.5 * (-1.0 + 0.5)), (0.5, 0.3, 0.25 + 0.5 * (-1.0 + 0.5)),
     (0.9, 0.1, 0.25 + 0.5 * (2.0 + 0.5)), (0.9, 0.8, 0.25 + 0.5 * (2.0 - 0.5))],
)  # fmt: skip
def test_boosted_trees_add_their_leaves_on_the_log_odds_scale(first, third, log_odds):
    import math

    model = model_from_json(small_trees())
    inputs = [0.0] * len(FEATURES)
    inputs[0], inputs[2] = first, third
    assert model.probability(inputs) == pytest.approx(1 / (1 + math.exp(-log_odds)))


def test_a_tree_that_points_outside_itself_is_refused():
    bad = small_trees()
    bad["trees"][0]["right"] = [7, -1, -1]
    with pytest.raises(ValueError, match="outside the tree"):
        model_from_json(bad)


def test_a_model_for_other_features_is_refused_with_what_to_do():
    data = shipped() | {"features": ["coverage"]}
    with pytest.raises(ValueError, match=r"run tools/fit_decline\.py"):
        model_from_json(data)


@pytest.mark.parametrize(
    "question",
    [
        "Which architect designed the cathedral of Florence?",
        "What is the boiling point of ethanol in kelvin?",
        "Who wrote the novel about the white whale?",
    ],
)
def test_questions_about_other_things_are_declined_with_a_reason(fitted, question):
    reply = fitted.ask(question)
    assert reply.answers == ()
    assert reply.no_answer_reason


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("When will the council meet the fishing crews?", "on Wednesday"),
        ("How many homes has the storm flooded?", "twelve homes"),
        ("Who scored two goals in the cup final?", "Ana Silva"),
    ],
)
def test_questions_the_articles_answer_are_answered(fitted, question, expected):
    reply = fitted.ask(question)
    assert any(expected in a.quote for a in reply.answers), reply.no_answer_reason


def test_the_model_inputs_are_the_same_from_the_fetched_articles_alone():
    """The OpenSearch backend ranks only the articles a question fetched, with the whole
    corpus's statistics: the decline inputs must not read anything of the articles at hand
    (their count, their vocabulary), or the two backends decline different questions."""

    from bot.core.search import documents, paragraphs, tables, totals
    from bot.core.search.local import QuestionStats, paragraph_engine

    extra = (
        "Orchestra tours the coast\n\nThe city orchestra begins a summer tour of coastal towns.\n"
    )
    articles = [
        RawArticle(Source("news/storm.txt", "Storm closes harbour", "Coast Courier"), NEWS),
        RawArticle(Source("sport/final.txt", "Rovers win the cup final", None), SPORT),
        RawArticle(Source("arts/tour.txt", "Orchestra tours the coast", None), extra),
    ]
    options = make_settings().core_options().engine
    whole = Engine.from_articles(articles, options)
    stats, sdf, pdf = totals.table_stats(whole.table)
    vocabulary = whole.table.vocabulary
    question_stats = QuestionStats(
        "t",
        stats,
        {t: int(sdf[i]) for i, t in enumerate(vocabulary)},
        {t: int(pdf[i]) for i, t in enumerate(vocabulary)},
    )
    orchestra = next(i for i, s in enumerate(whole.table.sources) if s.id == "arts/tour.txt")
    found = [
        paragraphs.decode(made.key, doc["data"]["p"])
        for made in (documents.article_docs(whole.table, i, None) for i in range(3))
        if made.article["article_id"] != whole.table.sources[orchestra].id
        for doc in made.sentences
    ]  # not the orchestra's
    joined = paragraphs.join(paragraphs.distinct_paragraphs(found), tables.TermNumbers())
    local = paragraph_engine(joined, question_stats, options, whole.tokenizer, whole.splitter)
    for question in (
        "How many homes has the storm flooded?",
        "When will the council meet the fishing crews?",
        "How many homes has the storm flooded on its tour?",  # a word of the article not fetched
        "How many zebras has the storm flooded?",  # a word of no article,
    ):
        mine, theirs = local.decline_inputs(question, 0.0), whole.decline_inputs(question, 0.0)
        assert mine is not None and theirs is not None
        assert mine == pytest.approx(theirs), question


def test_a_word_in_a_range_of_sentences_is_found_by_one_search_as_by_every_sentence(fitted):
    """``any_between`` (the article inputs' one binary search) agrees with ``matches``."""
    import numpy as np

    index = fitted.corpus.index
    size = fitted.table.sentences
    for term in ("storm", "harbour", "goal", "silva", "zebra"):
        for low in range(size):
            for high in range(low, size + 1):
                every = bool(index.matches(term, np.arange(low, high)).any())
                assert index.any_between(term, low, high) is every, (term, low, high)


def test_a_paragraph_that_holds_the_question_across_its_sentences_counts_as_one_text():
    """``paragraph_bm25_share`` scores the best three's paragraphs as one text each: the
    same two sentences weigh more as one paragraph than as two when the question's words
    are spread over both, and a question one sentence answers is not moved by it."""

    def inputs(between: str, question: str) -> tuple[float, ...]:
        body = (
            "Mill fire\n\nA fire destroyed the old mill near the river on Tuesday night."
            f"{between}Firefighters from three villages fought the blaze until dawn.\n\n"
            "The harvest festival opens on Saturday.\n"
        )
        articles = [
            RawArticle(Source("news/storm.txt", "Storm closes harbour", "Coast Courier"), NEWS),
            RawArticle(Source("sport/final.txt", "Rovers win the cup final", None), SPORT),
            RawArticle(Source("news/mill.txt", "Mill fire", None), body),
        ]
        engine = Engine.from_articles(articles, make_settings().core_options().engine)
        found = engine.decline_inputs(question, 0.0)
        assert found is not None
        return found

    paragraph = FEATURES.index("paragraph_bm25_share")
    spread = "How many villages fought the fire at the old mill?"
    assert inputs(" ", spread)[paragraph] > inputs("\n\n", spread)[paragraph] + 0.05
    whole = "When does the harvest festival open?"
    assert inputs(" ", whole)[paragraph] == pytest.approx(
        inputs("\n\n", whole)[paragraph], abs=0.03
    )
