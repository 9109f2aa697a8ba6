"""Render-cache hits in a style-transfer search whose LLM repeats instructions.

The editor stands in for an image-edit model at a fixed cost per edit (a small sleep, the only way
to give a CPU stand-in the cost profile of a diffusion edit); the Gram scorer runs on a VGG19 trunk
with random weights. The same search runs with the render cache and with a cache that holds nothing;
the ratio is the wall time saved, and the counts show where it comes from.
"""
import time

import torch

from devkit.toys import ToyLLM
from mils.scorers.gram import GramRenderScorer, GramStyleScorer
from mils.scorers.gram_features import VGG19Features
from mils.scorers.render import RenderCache
from mils.search import SearchConfig, run_search
from mils.tasks import TASKS

from ._common import report, timer

EDIT_SECONDS = 0.05


class SlowTintEditor:
    key = "slow-tint"

    def __init__(self, content):
        self.content = content[0]
        self.calls = 0

    def render(self, texts, seed):
        self.calls += len(texts)
        time.sleep(EDIT_SECONDS * len(texts))
        words = [set(t.lower().split()) for t in texts]
        tint = [torch.tensor([1.0 if "red" in w else 0.5, 1.0 if "green" in w else 0.5, 1.0 if "blue" in w else 0.5])
                for w in words]
        return torch.stack([self.content * t for t in tint])


def run(cache: RenderCache):
    torch.manual_seed(0)
    content = torch.rand(1, 64, 64, 3)
    style = content * torch.tensor([0.3, 0.3, 1.0])
    gram = GramStyleScorer(VGG19Features(), style, content, size=64)
    editor = SlowTintEditor(content)
    scorer = GramRenderScorer(editor, gram, seed=0, batch_size=4, cache=cache)
    llm = ToyLLM(vocab=["red", "green", "blue", "make", "it"])
    start = ["make it red", "make it green", "make it blue", "make it"]
    # the LLM repeats lines; the search dedups texts, and scoring the final top K again (as the nodes
    # do for best_image) and re-scoring shown candidates hit the cache
    res = run_search(llm, scorer, TASKS["style_transfer"], start, SearchConfig(keep=4, new_per_step=8, steps=6))
    scorer.images([s.text for s in res.leaderboard])
    scorer.score([s.text for s in res.leaderboard])
    return editor.calls, cache.hits


def main() -> float:
    t = {}
    with timer(t, "cached"):
        calls_c, hits_c = run(RenderCache())
    with timer(t, "uncached"):
        calls_u, hits_u = run(RenderCache(max_entries=0))
    ratio = t["uncached"] / t["cached"]
    report("render cache in a style-transfer run", ratio, "higher is better",
           f"with cache: {calls_c} edits, {hits_c} cache hits, {t['cached']:.2f} s; "
           f"without: {calls_u} edits, {t['uncached']:.2f} s")
    return ratio


if __name__ == "__main__":
    main()
