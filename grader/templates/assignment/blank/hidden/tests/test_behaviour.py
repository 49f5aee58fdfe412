"""Hidden behaviour tests: trusted code, run by the grader with a live `candidate`."""


def test_one_label_per_text_in_order(candidate):
    texts = ["a", "a b c d e f g h", "b"]
    labels = candidate.predict(texts)
    assert len(labels) == len(texts)
    assert labels[0] == labels[2]


def test_empty_batch(candidate):
    assert candidate.predict([]) == []


def test_batch_and_single_agree(candidate):
    texts = ["data model", "order refund invoice login error update team price"]
    alone = [candidate.predict([t]) for t in texts]
    # Checked before indexing: an IndexError would be this test's own error, which the
    # grader reports as a broken assignment, not as the candidate's answer.
    assert all(len(answer) == 1 for answer in alone), "not one label for one text"
    assert candidate.predict(texts) == [answer[0] for answer in alone]
