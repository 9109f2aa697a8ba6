"""One job identity: readable fields, a stable digest, and a difference that names what changed."""
import torch

from mils.identity import identity_difference, identity_digest, job_identity
from mils.jobs import Job
from mils.media import Media


class _LLM:
    def __init__(self, key="llm-a"):
        self.key = key


def _job(**kw):
    base = dict(task="image_caption", generator=_LLM(), media=Media("image", torch.zeros(1, 8, 8, 3)))
    return Job(**{**base, **kw})


def test_same_job_same_identity_and_digest():
    a, b = job_identity(_job()), job_identity(_job())
    assert a == b and identity_digest(a) == identity_digest(b)
    assert identity_difference(a, b) == ""


def test_the_difference_names_each_changed_field():
    a = job_identity(_job())
    b = job_identity(_job(generator=_LLM("llm-b"), seed=3))
    diff = identity_difference(a, b)
    assert "llm (llm-a -> llm-b)" in diff and "seed (0 -> 3)" in diff
    assert "task" not in diff and identity_digest(a) != identity_digest(b)


def test_other_media_pixels_are_other_inputs():
    a = job_identity(_job())
    b = job_identity(_job(media=Media("image", torch.ones(1, 8, 8, 3))))
    assert identity_difference(a, b).startswith("inputs (")


def test_a_per_run_time_budget_does_not_change_the_identity_but_a_budget_override_does():
    a = job_identity(_job())
    assert job_identity(_job(overrides={"time_budget_s": 5.0})) == a
    assert "budget" in identity_difference(a, job_identity(_job(overrides={"steps": 3})))
