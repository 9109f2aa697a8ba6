"""Style transfer end to end on real photos with real CNN weights (marked `real`).

The editor is a deterministic stand-in for an instruction-edit model: it applies the image operations
an instruction names ("sepia", "posterize", "blur", ...) to the content photo, in order. The Gram
scorer runs on real HED VGG16 conv weights; the style image is the photo with an effect chain that
no single starting instruction produces, so the search has to combine instructions to beat the pool.
"""
import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter, ImageOps
from test_real_gram import hed_features

from devkit.real_models import photo
from devkit.toys import ToyLLM
from mils.scorers.gram import GramRenderScorer, GramStyleScorer
from mils.search import SearchConfig, run_search
from mils.tasks import TASKS

pytestmark = pytest.mark.real


def _sepia(im):
    g = ImageOps.grayscale(im)
    return ImageOps.colorize(g, black=(40, 26, 13), white=(255, 236, 200))


OPS = {
    "sepia": _sepia,
    "posterize": lambda im: ImageOps.posterize(im, 2),
    "blur": lambda im: im.filter(ImageFilter.GaussianBlur(3)),
    "sharpen": lambda im: im.filter(ImageFilter.SHARPEN),
    "grayscale": lambda im: ImageOps.grayscale(im).convert("RGB"),
    "invert": ImageOps.invert,
    "emboss": lambda im: im.filter(ImageFilter.EMBOSS),
    "mirror": ImageOps.mirror,
}


def _to_pil(t):
    return Image.fromarray((t.clamp(0, 1).numpy() * 255).astype(np.uint8))


def _to_tensor(im):
    return torch.from_numpy(np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0)


class FilterEditor:
    key = "filter-editor"

    def __init__(self, content):
        self.content = _to_pil(content[0])

    def render(self, texts, seed):
        out = []
        for t in texts:
            im = self.content
            for word in t.lower().replace(",", " ").split():
                if word in OPS:
                    im = OPS[word](im)
            out.append(_to_tensor(im))
        return torch.stack(out)


def test_searched_edit_beats_the_best_starting_instruction():
    content = photo("chelsea")
    style = _to_tensor(OPS["posterize"](_sepia(_to_pil(content[0]))))[None]
    gram = GramStyleScorer(hed_features(), style, content, size=128)
    scorer = GramRenderScorer(FilterEditor(content), gram, seed=0, batch_size=4)
    start = [f"make it {w}" for w in ("blur", "sharpen", "grayscale", "invert", "emboss", "mirror", "sepia")]
    llm = ToyLLM(vocab=list(OPS) + ["make", "it", "softly"])
    res = run_search(llm, scorer, TASKS["style_transfer"], start,
                     SearchConfig(keep=4, new_per_step=8, steps=5, seed=1))
    start_best = min(scorer.score(start))
    print("start best", start_best, "->", res.best_score, res.best_text)
    assert res.best_score < start_best
    style_only = [p[0] for p in scorer.pairs([res.best_text] + start)]
    assert style_only[0] < min(style_only[1:]), "the win is in the style term, not only the content term"
