"""Small deterministic stand-ins for an LLM and an encoder, used to test the search's mechanics.

They are real implementations of the protocols (not mocks): the toy LLM proposes word-level
variations of the lines it is shown, seeded; the toy encoder is a hashed bag-of-words embedding.
"""
from __future__ import annotations

import random
import re
import zlib

import torch

from mils.generators.base import GenerationParams

VOCAB = ("cat dog sofa red blue green car street tree sky cup coffee table wooden window light dark "
         "small large sleeping running photo painting old young bird water beach snow night morning").split()


class ToyLLM:
    """Reads the "score: text" lines of the prompt and answers with mutated copies, as a numbered list."""

    def __init__(self, vocab=VOCAB, fmt="{i}. {text}"):
        self.key = "toy-llm"
        self.vocab = list(vocab)
        self.fmt = fmt
        self.calls = 0
        self.prompts: list[str] = []

    def generate(self, prompt: str, params: GenerationParams) -> list[str]:
        self.calls += 1
        self.prompts.append(prompt)
        rng = random.Random(params.seed)
        shown = re.findall(r"^-?[\d.]+(?:, -?[\d.]+)?: (.+)$", prompt, re.M)
        n = int(re.search(r"Write (\d+) new", prompt).group(1))
        out = []
        for i in range(n):
            words = rng.choice(shown).split() if shown else [rng.choice(self.vocab)]
            op = rng.random()
            if op < 0.4 or len(words) < 2:
                words.insert(rng.randrange(len(words) + 1), rng.choice(self.vocab))
            elif op < 0.7:
                words[rng.randrange(len(words))] = rng.choice(self.vocab)
            else:
                words.pop(rng.randrange(len(words)))
            out.append(self.fmt.format(i=i + 1, text=" ".join(words)))
        return ["\n".join(out)] * params.num_replies


class ScriptedLLM:
    """Answers with fixed replies in turn (the last one repeats)."""

    def __init__(self, replies):
        self.key = "scripted-llm"
        self.replies = list(replies)
        self.calls = 0

    def generate(self, prompt, params):
        reply = self.replies[min(self.calls, len(self.replies) - 1)]
        self.calls += 1
        return [reply]


class HashingEncoder:
    """Bag-of-words embedding: each word hashes to a random unit direction; a text is their normalised sum."""

    def __init__(self, dim: int = 64, name: str = "hash"):
        self.key = f"hashing:{name}:{dim}"
        self.modalities = frozenset()
        self.dim = dim
        self.text_calls = 0
        self.texts_encoded = 0

    def _word(self, w: str) -> torch.Tensor:
        g = torch.Generator().manual_seed(zlib.crc32(w.encode()))
        return torch.randn(self.dim, generator=g)

    def encode_text(self, texts):
        self.text_calls += 1
        self.texts_encoded += len(texts)
        rows = []
        for t in texts:
            words = re.findall(r"[a-z]+", t.lower()) or ["<empty>"]
            v = torch.stack([self._word(w) for w in words]).sum(0)
            rows.append(v / v.norm())
        return torch.stack(rows)


class OverlapScorer:
    """Fraction of target words present in the text; maximised. Counts texts it scored."""

    direction = "maximize"

    def __init__(self, target: str):
        self.key = f"overlap:{target}"
        self.target = set(target.lower().split())
        self.scored: list[str] = []

    @property
    def encodes(self):
        return len(self.scored)

    def score(self, texts):
        self.scored.extend(texts)
        return [len(self.target & set(t.lower().split())) / len(self.target) for t in texts]

    def format_score(self, s):
        return f"{100 * s:.2f}"


class ColourWordsEncoder(HashingEncoder):
    """Embeds an image as the words for its dominant colour and brightness, a sound as its loudness.

    Deterministic and cheap, yet a real joint space: "a red ..." scores higher on a red picture.
    """

    def __init__(self, dim: int = 64):
        super().__init__(dim, name="colour-words")
        self.modalities = frozenset({"image", "audio"})
        self.key = "colour-words"

    def _describe_image(self, img: torch.Tensor) -> str:
        mean = img.reshape(-1, img.shape[-1])[:, :3].mean(0)
        colour = ["red", "green", "blue"][int(mean.argmax())]
        light = "light" if float(mean.mean()) > 0.5 else "dark"
        return f"{light} {colour}"

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        if images.ndim != 4 or images.shape[0] == 0:
            from mils.errors import InputError

            raise InputError("image", "a (B, H, W, C) batch with B >= 1", str(tuple(images.shape)))
        return self.encode_text([self._describe_image(im) for im in images])

    def encode_audio(self, waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
        loud = ["quiet" if float(w.abs().mean()) < 0.1 else "loud" for w in waveform]
        return self.encode_text([f"{x} water" for x in loud])


class ColourRenderer:
    """A renderer: paints the colour a text names (the last of red/green/blue wins), brighter for "light".

    The noise comes from (seed, text), so a text renders the same alone or in a batch, as the renderer
    protocol asks. ``calls`` lists the texts of every render call.
    """

    COLOURS = {"red": (1.0, 0.1, 0.1), "green": (0.1, 1.0, 0.1), "blue": (0.1, 0.1, 1.0)}

    def __init__(self, size: int = 8):
        self.key = f"colour-paint:{size}"
        self.size = size
        self.calls: list[list[str]] = []

    def render(self, texts, seed: int) -> torch.Tensor:
        self.calls.append(list(texts))
        out = []
        for t in texts:
            words = t.lower().split()
            rgb = next((self.COLOURS[w] for w in reversed(words) if w in self.COLOURS), (0.5, 0.5, 0.5))
            scale = 1.0 if "light" in words else 0.4
            g = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(t.encode()))
            img = torch.tensor(rgb).mul(scale).expand(self.size, self.size, 3)
            out.append((img + 0.01 * torch.randn(self.size, self.size, 3, generator=g)).clamp(0, 1))
        return torch.stack(out) if out else torch.zeros(0, self.size, self.size, 3)


def toy_llm():
    return ToyLLM()


def toy_encoder():
    return ColourWordsEncoder()


def toy_judge():
    """The colour-words encoder under another key: a judge that is not the optimiser."""
    judge = ColourWordsEncoder()
    judge.key = "colour-words-judge"
    return judge


def text_only_encoder():
    return HashingEncoder()
