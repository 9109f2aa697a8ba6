"""ComfyRenderer against the real ComfyUI, in-process, on a tiny random-weight SD1.5 checkpoint.

Random weights render near-black pictures, so nothing here asserts pixel content. The tiny UNet
barely reacts to the prompt (it predicts zeros), so where a test needs the prompt to matter it wraps
the model (ComfyUI's own ``model_function_wrapper``) to add a term computed from each sample's
cross-attention context: a batched render then only matches one-at-a-time renders if every sample
got its own prompt.
"""
from __future__ import annotations

import pytest
import torch

pytestmark = pytest.mark.comfyui

SEED = 11
TEXTS = ["a red cat on a sofa", "a blue dog", "an oil painting of a lighthouse"]
SMALL = dict(steps=2, width=64, height=64)


@pytest.fixture(scope="module")
def cr(comfy):
    import mils_pack.nodes.comfy_render as cr

    return cr


class latents:
    """``latents(r).render(texts, seed)``: r's render with VAE decoding switched off for that call, so it
    returns the sampled latents (exact comparisons); counters and caches are r's own."""

    def __init__(self, renderer):
        self.renderer = renderer

    def render(self, texts, seed):
        self.renderer._decode = lambda samples: samples.to("cpu", torch.float32)
        try:
            return self.renderer.render(texts, seed)
        finally:
            del self.renderer._decode


def prompt_sensitive(model):
    """A clone of MODEL whose noise prediction also depends on each sample's own conditioning."""
    m = model.clone()

    def wrapper(apply_model, args):
        out = apply_model(args["input"], args["timestep"], **args["c"])
        ctx = args["c"]["c_crossattn"]  # (chunks * batch, tokens, 768): one row per sample
        per_sample = ctx.float().mean(dim=1)[:, :out.shape[1]].reshape(out.shape[0], out.shape[1], 1, 1)
        return out + (0.5 * per_sample + 0.05 * torch.tanh(args["input"].float())).to(out.dtype)

    m.set_model_unet_function_wrapper(wrapper)
    return m


def stock_render(stock, model, clip, vae, text, seed, *, negative="", sampler="euler", scheduler="normal",
                 steps=2, cfg=7.0, width=64, height=64, content=None, denoise=1.0, method="area"):
    """The stock graph: CLIPTextEncode x2 -> EmptyLatentImage | ImageScale+VAEEncode -> KSampler -> VAEDecode."""
    pos = stock.CLIPTextEncode().encode(clip, text)[0]
    neg = stock.CLIPTextEncode().encode(clip, negative)[0]
    if content is None:
        latent = stock.EmptyLatentImage().generate(width, height, 1)[0]
    else:
        scaled = stock.ImageScale().upscale(content, method, width, height, "disabled")[0]
        latent = stock.VAEEncode().encode(vae, scaled)[0]
    with torch.inference_mode():
        samples = stock.KSampler().sample(model, seed, steps, cfg, sampler, scheduler, pos, neg, latent,
                                          denoise=denoise)[0]
        image = stock.VAEDecode().decode(vae, samples)[0]
    return samples["samples"].float(), image.float()


# --- the renderer protocol ---------------------------------------------------------------------

def test_renders_shapes_range_and_is_deterministic(cr, sd15):
    from mils.scorers.render import Renderer

    model, clip, vae = sd15
    r = cr.ComfyRenderer(model, clip, vae, **SMALL)
    assert isinstance(r, Renderer)
    a = r.render(TEXTS, SEED)
    assert a.shape == (3, 64, 64, 3) and a.dtype == torch.float32 and a.device.type == "cpu"
    assert torch.isfinite(a).all() and float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    assert torch.equal(a, r.render(TEXTS, SEED))
    la = latents(r).render(TEXTS, SEED)
    assert la.shape == (3, 4, 8, 8) and torch.equal(la, latents(r).render(TEXTS, SEED))
    assert not torch.allclose(la, latents(r).render(TEXTS, SEED + 1))  # the seed is the noise
    assert r.render([], SEED).shape == (0, 64, 64, 3)


def test_one_render_equals_the_stock_graph_at_the_same_seed(cr, sd15, stock_nodes):
    model, clip, vae = sd15
    model = prompt_sensitive(model)
    r = cr.ComfyRenderer(model, clip, vae, negative="blurry", **SMALL)
    lat, img = stock_render(stock_nodes, model, clip, vae, TEXTS[0], SEED, negative="blurry")
    torch.testing.assert_close(latents(r).render([TEXTS[0]], SEED), lat)
    torch.testing.assert_close(r.render([TEXTS[0]], SEED), img.clamp(0, 1))


def test_batched_equals_one_at_a_time(cr, sd15):
    model, clip, vae = sd15
    model = prompt_sensitive(model)
    long = "a very detailed prompt " * 20  # > 77 tokens: a 154-token conditioning, not stackable with the rest
    texts = TEXTS + [long, "a green bird"]
    batched = cr.ComfyRenderer(model, clip, vae, batch_size=4, **SMALL)
    single = cr.ComfyRenderer(model, clip, vae, batch_size=1, **SMALL)
    assert batched.batched and not single.batched
    assert batched.conditioning(long)[0][0].shape[1] == 154
    lb, ls = latents(batched).render(texts, SEED), latents(single).render(texts, SEED)
    assert batched.sampler_calls == 2 and single.sampler_calls == 5  # {4 short ones}, {the long one}
    torch.testing.assert_close(lb, ls, rtol=1e-4, atol=1e-4)
    # the prompts matter here, so equality means every sample was sampled with its own prompt
    assert (lb[0] - lb[1]).abs().max() > 1e-2
    ib, is_ = batched.render(texts, SEED), single.render(texts, SEED)
    torch.testing.assert_close(ib, is_, rtol=1e-4, atol=1e-4)


def test_every_candidate_gets_the_same_noise(cr, sd15):
    model, clip, vae = sd15
    r = cr.ComfyRenderer(prompt_sensitive(model), clip, vae, batch_size=4, **SMALL)
    lat = latents(r).render(["a cat", "a dog", "a cat"], SEED)
    assert r.sampler_calls == 1
    # same prompt, same noise: the same result wherever it sits in the batch
    torch.testing.assert_close(lat[0], lat[2], rtol=0, atol=1e-5)
    assert (lat[0] - lat[1]).abs().max() > 1e-2
    # A model that ignores the prompt makes a render a function of the start noise alone, so
    # identical results for different prompts show they all started from the same noise.
    blind = model.clone()
    blind.set_model_unet_function_wrapper(lambda apply_model, args: 0.1 * torch.tanh(args["input"]))
    plain = cr.ComfyRenderer(blind, clip, vae, batch_size=4, **SMALL)
    lat = latents(plain).render(TEXTS, SEED)
    assert plain.sampler_calls == 1
    assert torch.equal(lat[0], lat[1]) and torch.equal(lat[0], lat[2])
    assert not torch.equal(lat[0], latents(plain).render(TEXTS[:1], SEED + 1)[0])
    # ... and it is the noise a batch of one gets (what KSampler uses for a one-image latent)
    torch.testing.assert_close(lat, latents(plain).render(["anything else"], SEED).expand_as(lat),
                               rtol=1e-4, atol=1e-4)


def test_stochastic_samplers_render_one_candidate_per_call(cr, sd15):
    model, clip, vae = sd15
    model = prompt_sensitive(model)
    assert cr.sampler_is_stochastic("euler_ancestral") and cr.sampler_is_stochastic("dpmpp_2m_sde")
    assert not cr.sampler_is_stochastic("euler") and not cr.sampler_is_stochastic("dpmpp_2m")
    r = cr.ComfyRenderer(model, clip, vae, sampler_name="euler_ancestral", batch_size=4, **SMALL)
    assert not r.batched
    lat = latents(r).render(["a cat", "a dog", "a cat"], SEED)
    assert r.sampler_calls == 3
    assert torch.equal(lat[0], lat[2]) and not torch.equal(lat[0], lat[1])
    one = cr.ComfyRenderer(model, clip, vae, sampler_name="euler_ancestral", batch_size=1, **SMALL)
    assert torch.equal(lat, latents(one).render(["a cat", "a dog", "a cat"], SEED))


def test_img2img_starts_from_the_content_image(cr, sd15, stock_nodes):
    model, clip, vae = sd15
    model = prompt_sensitive(model)
    g = torch.Generator().manual_seed(0)
    content = torch.rand(1, 80, 96, 3, generator=g)
    r = cr.ComfyRenderer(model, clip, vae, content_image=content, denoise=0.5, **SMALL)
    assert r.img2img and "content=" in r.key and "content=none" not in r.key
    img = r.render(TEXTS[:2], SEED)
    assert img.shape == (2, 64, 64, 3) and float(img.min()) >= 0 and float(img.max()) <= 1
    assert torch.equal(img, r.render(TEXTS[:2], SEED))
    start = r.start_latent()
    assert start.shape == (1, 4, 8, 8) and start.abs().sum() > 0
    txt2img = cr.ComfyRenderer(model, clip, vae, denoise=0.5, **SMALL)
    assert not torch.allclose(latents(r).render(TEXTS[:1], SEED), latents(txt2img).render(TEXTS[:1], SEED))
    lat, stock_img = stock_render(stock_nodes, model, clip, vae, TEXTS[0], SEED, content=content, denoise=0.5)
    torch.testing.assert_close(latents(r).render(TEXTS[:1], SEED), lat)
    torch.testing.assert_close(img[:1], stock_img.clamp(0, 1))
    # denoise 1 ignores the content image: a plain txt2img render
    full = cr.ComfyRenderer(model, clip, vae, content_image=content, denoise=1.0, **SMALL)
    assert not full.img2img and "content=none" in full.key


def test_conditioning_is_the_stock_clip_text_encode(cr, sd15, stock_nodes):
    model, clip, vae = sd15
    r = cr.ComfyRenderer(model, clip, vae, **SMALL)
    c = r.conditioning("a cat")
    assert isinstance(c, list) and len(c) == 1 and isinstance(c[0], list) and len(c[0]) == 2
    cond, extras = c[0]
    assert cond.shape == (1, 77, 768) and extras["pooled_output"].shape == (1, 768)
    stock = stock_nodes.CLIPTextEncode().encode(clip, "a cat")[0]
    assert len(stock) == 1 and torch.equal(stock[0][0], cond) and stock[0][1].keys() == extras.keys()
    assert torch.equal(stock[0][1]["pooled_output"], extras["pooled_output"])
    extras["junk"] = 1  # callers get a fresh structure; the cache is untouched
    assert "junk" not in r.conditioning("a cat")[0][1]


def test_conditioning_is_encoded_once_per_text(cr, sd15):
    model, clip, vae = sd15
    r = cr.ComfyRenderer(model, clip, vae, **SMALL)
    seen = []
    real = clip.tokenize

    class CountingClip:
        def __getattr__(self, name):
            return getattr(clip, name)

        def tokenize(self, text, *a, **k):
            seen.append(text)
            return real(text, *a, **k)

    r.clip = CountingClip()
    r.render(["a cat", "a dog"], SEED)
    r.render(["a cat"], SEED + 1)
    r.conditioning("a dog")
    assert sorted(seen) == ["", "a cat", "a dog"]  # "" is the negative


def test_conditionings_batch_only_when_they_stack(cr):
    a = [[torch.zeros(1, 77, 8), {"pooled_output": torch.zeros(1, 8)}]]
    b = [[torch.ones(1, 77, 8), {"pooled_output": torch.ones(1, 8)}]]
    long = [[torch.ones(1, 154, 8), {"pooled_output": torch.ones(1, 8)}]]
    extra = [[torch.ones(1, 77, 8), {"pooled_output": torch.ones(1, 8), "attention_mask": torch.ones(1, 77)}]]
    both = cr.batch_conditionings([a, b])
    assert both[0][0].shape == (2, 77, 8) and both[0][1]["pooled_output"].shape == (2, 8)
    assert torch.equal(both[0][0][1], b[0][0][0])
    assert cr.batch_conditionings([a, long]) is None and cr.batch_conditionings([a, extra]) is None
    hooked = [[torch.ones(1, 77, 8), {"pooled_output": None, "hooks": object()}]]
    other_hooks = [[torch.ones(1, 77, 8), {"pooled_output": None, "hooks": object()}]]
    assert cr.batch_conditionings([hooked, other_hooks]) is None


# --- memory and interrupts -------------------------------------------------------------------

def test_out_of_memory_halves_the_batch(cr, comfy, sd15, monkeypatch):
    model, clip, vae = sd15
    texts = ["one", "two", "three", "four", "five"]
    r = cr.ComfyRenderer(prompt_sensitive(model), clip, vae, batch_size=4, **SMALL)
    real, sizes = comfy.sample.sample, []

    def sample(model, noise, *a, **k):
        sizes.append(noise.shape[0])
        if noise.shape[0] > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(model, noise, *a, **k)

    monkeypatch.setattr(comfy.sample, "sample", sample)
    out = latents(r).render(texts, SEED)
    assert sizes == [4, 2, 2, 1] and r.limit.max_batch == 2  # the lowered size sticks for later calls
    r.limit.max_batch = 1
    torch.testing.assert_close(out, latents(r).render(texts, SEED), rtol=1e-4, atol=1e-4)

    def always_oom(model, noise, *a, **k):
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(comfy.sample, "sample", always_oom)
    r.limit.max_batch = 4
    with pytest.raises(torch.OutOfMemoryError):
        latents(r).render(texts, SEED)
    assert r.limit.max_batch == 1


def test_interrupt_propagates(cr, comfy, sd15):
    model, clip, vae = sd15
    r = cr.ComfyRenderer(model, clip, vae, batch_size=4, **SMALL)
    r.conditioning(TEXTS[0]), r.conditioning(TEXTS[1])  # encode first: interrupt during sampling
    comfy.mm.interrupt_current_processing(True)
    try:
        with pytest.raises(comfy.mm.InterruptProcessingException):
            r.render(TEXTS[:2], SEED)
    finally:
        comfy.mm.interrupt_current_processing(False)
    assert r.limit.max_batch == 4  # not mistaken for an out-of-memory error


# --- key and input validation ----------------------------------------------------------------

def test_key_names_everything_that_changes_a_render(cr, sd15):
    model, clip, vae = sd15
    base = cr.ComfyRenderer(model, clip, vae, **SMALL).key
    assert cr.ComfyRenderer(model, clip, vae, **SMALL).key == base
    variants = [dict(sampler_name="dpmpp_2m"), dict(scheduler="karras"), dict(steps=3), dict(cfg=4.0),
                dict(width=128), dict(height=128), dict(negative="ugly"), dict(denoise=0.7)]
    keys = {cr.ComfyRenderer(model, clip, vae, **{**SMALL, **v}).key for v in variants}
    assert len(keys) == len(variants) and base not in keys
    assert cr.ComfyRenderer(model.clone(), clip, vae, **SMALL).key != base
    c1, c2 = torch.zeros(1, 64, 64, 3), torch.ones(1, 64, 64, 3)
    k1 = cr.ComfyRenderer(model, clip, vae, content_image=c1, denoise=0.5, **SMALL).key
    k2 = cr.ComfyRenderer(model, clip, vae, content_image=c2, denoise=0.5, **SMALL).key
    assert k1 != k2


@pytest.mark.parametrize("kwargs, name", [
    (dict(width=100), "width"),
    (dict(width=32), "width"),
    (dict(height=0), "height"),
    (dict(height=64.0), "height"),
    (dict(steps=0), "steps"),
    (dict(batch_size=0), "batch_size"),
    (dict(denoise=0.0), "denoise"),
    (dict(denoise=1.5), "denoise"),
    (dict(cfg=float("nan")), "cfg"),
    (dict(sampler_name="no_such_sampler"), "sampler_name"),
    (dict(scheduler="no_such_scheduler"), "scheduler"),
    (dict(content_image=torch.zeros(64, 64, 3)), "content_image"),
    (dict(content_image=torch.zeros(2, 64, 64, 3)), "content_image"),
    (dict(content_image=torch.zeros(1, 64, 64, 4)), "content_image"),
    (dict(content_image="photo.png"), "content_image"),
    (dict(model=None), "model"),
    (dict(clip=None), "clip"),
    (dict(vae=None), "vae"),
    (dict(vae=object()), "vae"),
])
def test_bad_inputs_name_the_input(cr, sd15, kwargs, name):
    from mils import errors

    model, clip, vae = sd15
    args = {"model": model, "clip": clip, "vae": vae, **SMALL, **kwargs}
    with pytest.raises(errors.InputError) as info:
        cr.ComfyRenderer(args.pop("model"), args.pop("clip"), args.pop("vae"), **args)
    assert info.value.input_name == name and name in str(info.value)


def test_non_text_candidates_are_refused(cr, sd15):
    from mils import errors

    r = cr.ComfyRenderer(*sd15, **SMALL)
    with pytest.raises(errors.InputError, match="texts"):
        r.render(["a cat", 3], SEED)
