import pytest
import torch

from devkit.toys import ColourWordsEncoder, HashingEncoder, ToyLLM
from mils.errors import InputError
from mils.scorers.render import RenderScorer
from mils.search import SearchConfig, run_search
from mils.targets import text_target
from mils.tasks import TASKS

COLOURS = {"red": (1.0, 0.1, 0.1), "green": (0.1, 1.0, 0.1), "blue": (0.1, 0.1, 1.0)}


class PaintRenderer:
    """Paints the colour a text names (the last colour word wins), brighter for "light"; seed adds noise."""

    key = "paint"

    def __init__(self):
        self.calls = []

    def render(self, texts, seed):
        self.calls.append(list(texts))
        g = torch.Generator().manual_seed(seed)
        out = []
        for t in texts:
            words = t.lower().split()
            rgb = next((COLOURS[w] for w in reversed(words) if w in COLOURS), (0.5, 0.5, 0.5))
            scale = 1.0 if "light" in words else 0.4
            img = torch.tensor(rgb).mul(scale).expand(8, 8, 3).clone()
            out.append((img + 0.01 * torch.randn(8, 8, 3, generator=g)).clamp(0, 1))
        return torch.stack(out)


def test_enhancement_search_renders_each_candidate_once_and_improves():
    enc, renderer = ColourWordsEncoder(), PaintRenderer()
    intent = "a light red poster"
    scorer = RenderScorer(renderer, enc, text_target(enc, intent), batch_size=3)
    llm = ToyLLM(vocab=["red", "blue", "light", "dark", "green", "poster"])
    res = run_search(llm, scorer, TASKS["t2i_enhance"], ["a dark blue poster"],
                     SearchConfig(keep=3, new_per_step=5, steps=4, seed=1), intent=intent)
    assert res.best_score > res.history[0].best_score
    rendered = [t for call in renderer.calls for t in call]
    assert len(rendered) == len(set(rendered)) == res.renders
    assert all(len(call) <= 3 for call in renderer.calls)
    assert "The user's prompt is: a light red poster" in llm.prompts[0]


def test_cached_renders_are_reused_and_seed_is_fixed():
    enc, renderer = ColourWordsEncoder(), PaintRenderer()
    scorer = RenderScorer(renderer, enc, text_target(enc, "red"), seed=7)
    a = scorer.score(["red", "blue"])
    b = scorer.score(["blue", "red"])
    assert a == pytest.approx(b[::-1]) and scorer.renders == 2 and scorer.cache.hits >= 2


def test_scorer_without_images_is_refused():
    with pytest.raises(InputError, match="does not embed images"):
        RenderScorer(PaintRenderer(), HashingEncoder(), torch.ones(64))


def test_a_cache_that_keeps_nothing_still_scores_and_renders_every_call():
    from mils.scorers.render import RenderCache

    enc, renderer = ColourWordsEncoder(), PaintRenderer()
    scorer = RenderScorer(renderer, enc, text_target(enc, "red"), cache=RenderCache(max_entries=0))
    assert len(scorer.score(["red", "blue", "red"])) == 3
    scorer.score(["red"])
    assert scorer.renders == 3 and scorer.cache.hits == 0
