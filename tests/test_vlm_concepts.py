"""Concept feedback: the prompt split once, each render asked about each concept, the missing ones shown to the LLM."""
from __future__ import annotations

import pytest
import torch

from devkit.toys import ScriptedLLM
from mils.errors import InputError
from mils.jobs import Job, run_job
from mils.scorers.concepts import parse_concepts, split_concepts
from mils.scorers.vlm_judge import VLMJudge


class IndexRenderer:
    """Writes the candidate's index into its render so the stub VLM knows which text it is looking at."""

    key = "index-renderer"

    def __init__(self):
        self.texts: list[str] = []

    def render(self, texts, seed):
        out = []
        for t in texts:
            self.texts.append(t)
            out.append(torch.full((8, 8, 3), len(self.texts) / 1000.0))
        return torch.stack(out)


class StubVLM:
    """P(yes) = 0.9 when the render's text names the concept, else 0.1; it never sees "left of" (0.2)."""

    key = "stub-vlm"
    model = None

    def __init__(self, renderer: IndexRenderer):
        self.renderer = renderer

    def yes_probs(self, images, questions):
        out = []
        for img, q in zip(images, questions):
            text = self.renderer.texts[round(float(img[0, 0, 0]) * 1000) - 1]
            concept = q.split('"')[1]
            out.append(0.2 if concept == "left of" else 0.9 if concept in text else 0.1)
        return out


class RecordingLLM(ScriptedLLM):
    def __init__(self, replies):
        super().__init__(replies)
        self.prompts: list[str] = []

    def generate(self, prompt, params):
        self.prompts.append(prompt)
        return super().generate(prompt, params)


PROMPT = "a red cube left of a blue ball"


def _run(llm, concepts="llm"):
    renderer = IndexRenderer()
    judge = VLMJudge(StubVLM(renderer), concepts=concepts)
    job = Job("t2i_enhance", llm, judge, renderer=renderer, prompt=PROMPT, preset="preview",
              overrides={"steps": 2, "keep": 3, "new_per_step": 2, "patience": 0, "parallel": 1})
    return run_job(job).result


def test_the_llm_sees_the_missing_concepts_of_each_kept_candidate():
    llm = RecordingLLM(["1. a red cube\n2. a blue ball\n3. left of",          # the split, asked once
                        "1. a red cube\n2. a blue ball on the left",           # round 1
                        "1. a blue ball and a red cube, side by side"])        # round 2
    res = _run(llm)
    assert "Split this text-to-image prompt" in llm.prompts[0] and PROMPT in llm.prompts[0]
    assert sum("Split this" in p for p in llm.prompts) == 1
    round1, round2 = llm.prompts[1], llm.prompts[2]
    assert f"0.667 (missing: left of): {PROMPT}" in round1
    assert "0.400 (missing: a blue ball; left of): a red cube" in round2
    assert "0.400 (missing: a red cube; left of): a blue ball on the left" in round2
    board = {s.text: s for s in res.history[-1].leaderboard}
    assert board[PROMPT].score == pytest.approx((0.9 + 0.9 + 0.2) / 3)
    assert board["a red cube"].shown == "0.400 (missing: a blue ball; left of)"
    assert res.best_text in (PROMPT, "a blue ball and a red cube, side by side")


def test_the_fixed_parser_splits_simple_prompts_without_the_llm():
    assert parse_concepts("a red cube, a blue ball and a lamp; at night.") == [
        "a red cube", "a blue ball", "a lamp", "at night"]
    assert parse_concepts("a cat") == ["a cat"]
    llm = RecordingLLM(["1. a red cube left of a blue ball, in the rain"])
    res = _run(llm, concepts="parse")
    assert not any("Split this" in p for p in llm.prompts)
    assert res.history[0].leaderboard[0].shown == "0.900"       # one concept: the whole prompt, present


def test_a_reply_without_concepts_falls_back_to_the_parser():
    llm = ScriptedLLM(["I'm sorry, I cannot help with that."])
    assert split_concepts("a red cube and a blue ball", "llm", llm) == ["a red cube", "a blue ball"]


def test_bad_concept_settings_are_named():
    with pytest.raises(InputError, match="concepts"):
        VLMJudge(StubVLM(IndexRenderer()), concepts="yes")
    with pytest.raises(InputError, match="an LLM to split"):
        split_concepts(PROMPT, "llm", None)
