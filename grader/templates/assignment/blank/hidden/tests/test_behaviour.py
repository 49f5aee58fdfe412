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
    assert candidate.predict(texts) == [candidate.predict([t])[0] for t in texts]
