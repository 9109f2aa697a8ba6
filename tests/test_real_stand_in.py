"""The stand-in image scorer (EfficientNet-Lite0 x all-MiniLM-L6-v2) on real weights and real photos."""
from __future__ import annotations

import logging

import pytest
import torch

from devkit.real_models import imagenet_lemmas, photo, stand_in_encoder, top_classes

log = logging.getLogger(__name__)

# MODELS.md section 1: the first four are the right captions for astronaut, coffee, chelsea, rocket.
CAPTIONS = [
    "an astronaut in a white space suit",
    "a cup of coffee on a saucer",
    "a tabby cat lying down",
    "a rocket on the launch pad",
    "a bowl of fresh fruit",
    "a red sports car on a road",
    "a photo of a city street",
    "an animal indoors",
]
# astronaut is left out: ImageNet-1k has no astronaut / space-suit class, so the stand-in misses it.
EXPECTED = {"coffee": 1, "chelsea": 2, "rocket": 3}


def test_vendored_imagenet_lemmas():
    names = imagenet_lemmas()
    assert len(names) == 1000 and len(set(names)) == 1000
    assert names[:3] == ["tench", "goldfish", "great white shark"]
    assert (names[281], names[282], names[285]) == ("tabby", "tiger cat", "Egyptian cat")
    assert (names[504], names[657], names[872], names[967]) == ("coffee mug", "missile", "tripod", "espresso")
    assert names[-1] == "toilet tissue"


@pytest.mark.real
@pytest.mark.parametrize("name, allowed", [
    ("coffee", {"espresso"}),
    ("chelsea", {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"}),
    ("rocket", {"missile", "projectile"}),
])
def test_efficientnet_top1(name, allowed):
    top = top_classes(photo(name), k=3)
    log.info("%s: %s", name, top)
    assert top[0][0] in allowed, top


@pytest.mark.real
def test_stand_in_encoder_protocol():
    from mils.scorers.base import Encoder

    enc = stand_in_encoder()
    assert isinstance(enc, Encoder)
    assert enc.modalities == frozenset({"image"})
    t = enc.encode_text(["a cat", "a dog"])
    i = enc.encode_image(torch.cat([photo("coffee")[:, :300, :400], photo("chelsea")[:, :300, :400]]))
    for e in (t, i):
        assert e.dtype == torch.float32 and e.device.type == "cpu" and e.shape == (2, 384)
        assert torch.allclose(e.norm(dim=-1), torch.ones(2), atol=1e-4)


@pytest.mark.real
def test_stand_in_ranks_right_caption_first():
    enc = stand_in_encoder()
    text = enc.encode_text(CAPTIONS)
    for name, right in EXPECTED.items():
        scores = (enc.encode_image(photo(name)) @ text.T)[0]
        log.info("%s: %s", name, ", ".join(f"{c}={s:.3f}" for c, s in zip(CAPTIONS, scores.tolist())))
        assert int(scores.argmax()) == right, (name, scores.tolist())
