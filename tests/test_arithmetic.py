"""Embedding arithmetic with a tiny real-architecture open_clip model: the inverted text beats the pool."""
import torch

from devkit.tiny_models import make_tiny_open_clip_dir
from devkit.toys import VOCAB, ToyLLM
from mils import targets
from mils.jobs import Job, run_job
from mils.scorers.embedding import EmbeddingScorer
from mils.scorers.open_clip_encoder import load_open_clip


def test_inverted_text_is_closer_to_the_arithmetic_target_than_any_starting_text(tmp_path):
    enc = load_open_clip(make_tiny_open_clip_dir(tmp_path), device="cpu")
    image = torch.rand(1, 32, 32, 3, generator=torch.Generator().manual_seed(0))
    target = targets.combine([(1.0, targets.image_target(enc, image)),
                              (-1.0, targets.text_target(enc, "a photo")),
                              (1.0, targets.text_target(enc, "a watercolor painting"))])
    pool = [f"a {w} {v}" for w, v in zip(VOCAB[::2], VOCAB[1::2])]
    res = run_job(Job("invert", ToyLLM(), enc, target=target, pool=pool, seed=0,
                      overrides=dict(keep=4, new_per_step=8, steps=5))).result
    scorer = EmbeddingScorer(enc, target)
    assert res.best_score > max(scorer.score(pool))
    assert abs(scorer.score([res.best_text])[0] - res.best_score) < 1e-5
