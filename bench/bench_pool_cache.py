"""Pool embedding cache: the second image with the same pool vs the first (goal >= 20x).

Real text encoder (MiniLM from a PyPI wheel) over 10,000 descriptions of the shipped image pool.
"""
from devkit.real_models import photo, stand_in_encoder
from mils.pools import load_pool
from mils.scorers.embedding import EmbeddingScorer
from mils.targets import image_target

from ._common import report, timer


def main(size: int = 10_000) -> float:
    enc = stand_in_encoder()
    pool = load_pool("image", limit=size)
    t = {}
    first = EmbeddingScorer(enc, image_target(enc, photo("chelsea")))
    with timer(t, "first"):
        s1 = first.score_pool(pool)
    second = EmbeddingScorer(enc, image_target(enc, photo("coffee")))
    with timer(t, "second"):
        s2 = second.score_pool(pool)
    assert len(s1) == len(s2) == len(pool) and second.pool_store.loaded_from_disk == 1
    ratio = t["first"] / t["second"]
    report("pool cache, 2nd image vs 1st", ratio, "goal >= 20x",
           f"{len(pool)} texts: first {t['first']:.2f} s (encode + write), second {t['second']:.3f} s (read)")
    return ratio


if __name__ == "__main__":
    main()
