"""Hidden behaviour tests: trusted code, run by the grader with a live `candidate`."""

TEXTS = ["my card was charged twice", "the parcel never arrived", "i am locked out of my account"]


def test_one_known_label_per_text(candidate, context):
    labels = candidate.predict(TEXTS)
    assert len(labels) == len(TEXTS)
    assert set(labels) <= set(context.load_module("generate").LABELS)


def test_empty_batch(candidate):
    assert candidate.predict([]) == []


def test_unseen_words_and_empty_text_still_get_a_label(candidate):
    assert len(candidate.predict(["", "zzxq qqvv"])) == 2


def test_batch_and_single_agree(candidate):
    alone = [candidate.predict([t]) for t in TEXTS]
    # Checked before indexing: an IndexError would be this test's own error, which the
    # grader reports as a broken assignment, not as the candidate's answer.
    assert all(len(answer) == 1 for answer in alone), "not one label for one text"
    assert candidate.predict(TEXTS) == [answer[0] for answer in alone]


def test_repeated_calls_are_stable(candidate):
    assert candidate.predict(TEXTS) == candidate.predict(TEXTS)
