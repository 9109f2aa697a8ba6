"""Batched + cached text scoring vs encoding one text at a time (goal >= 5x on CPU).

The texts are what a search scores: each round's new candidates, with repeats across rounds
(an LLM re-proposes lines it has seen). Real text encoder: MiniLM.
"""
import random

from devkit.real_models import photo, stand_in_encoder
from mils.pools import load_pool
from mils.scorers.embedding import EmbeddingScorer
from mils.targets import image_target

from ._common import report, timer


def main(rounds: int = 8, per_round: int = 50) -> float:
    enc = stand_in_encoder()
    vocab = load_pool("image", limit=300, seed=7)
    rng = random.Random(0)
    batches = [[rng.choice(vocab) for _ in range(per_round)] for _ in range(rounds)]
    target = image_target(enc, photo("chelsea"))
    t = {}
    with timer(t, "single"):
        single = [[float(enc.encode_text([x])[0] @ target) for x in b] for b in batches]
    scorer = EmbeddingScorer(enc, target)
    with timer(t, "batched"):
        batched = [scorer.score(b) for b in batches]
    for a, b in zip(single, batched):
        assert max(abs(x - y) for x, y in zip(a, b)) < 1e-4
    ratio = t["single"] / t["batched"]
    n = rounds * per_round
    report("text scoring, batched+cached vs one at a time", ratio, "goal >= 5x",
           f"{n} texts ({len({x for b in batches for x in b})} distinct): one at a time {t['single']:.2f} s, "
           f"batched+cached {t['batched']:.2f} s")
    return ratio


if __name__ == "__main__":
    main()
