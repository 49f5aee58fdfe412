"""Harness `answers`: the candidate's answer() on the hidden questions.

Token F1 and exact match after SQuAD normalisation against the gold answer; citation support is the
share of cited pages whose text states the gold answer (an archived revision states an old figure,
so citing it earns nothing). Runs in its own serve session, so a broken answer() costs these
metrics only, never the retrieval ones.
"""

from grader.metrics.answers import citation_support, exact_match, token_f1
from grader.metrics.latency import percentile_ms


def evaluate(candidate, context) -> dict[str, float]:
    generate = context.load_module("generate")
    seeds = {name: context.seed(name) for name in ("corpus", "dev", "hidden")}
    kb = generate.build_knowledge_base(seeds["corpus"])
    questions = generate.hidden_questions(kb, seeds)
    passages = {page.id: f"{page.title}\n{page.text}" for page in kb.pages}
    f1 = em = support = 0.0
    for question in questions:
        result = candidate.answer(question["question"])
        f1 += token_f1(result["answer"], question["answer"])
        em += exact_match(result["answer"], question["answer"])
        support += citation_support(result["citations"], question["answer"], passages)
    n = len(questions)
    return {
        "token_f1": f1 / n,
        "exact_match": em / n,
        "citation_support": support / n,
        "answer_p50_ms": percentile_ms(candidate.timings["answer"], 50),
    }
