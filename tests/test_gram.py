"""The Gram-matrix style scorer (METHOD.md 2.5): math, VGG19 loading, batching, input checks, node.

Random-weight VGG19 only (torchvision ``vgg19(weights=None)``); the real-weight checks are in
test_real_gram.py.
"""
from __future__ import annotations

import json

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mils import registry
from mils.errors import InputError, ModelNotFoundError
from mils.model_cache import MODEL_CACHE
from mils.scorers.gram import GramRenderScorer, GramStyleScorer, content_loss, gram, prepare_images, style_loss
from mils.scorers.gram_features import CONTENT_LAYER, STYLE_LAYERS, ModuleFeatures, VGG19Features, load_vgg19
from mils.scorers.render import RenderCache

torchvision = pytest.importorskip("torchvision")

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


pytestmark = pytest.mark.usefixtures("empty_model_cache")


@pytest.fixture(scope="module")
def tv_vgg19():
    """A randomly initialised torchvision VGG19 (the architecture the paper's scorer uses)."""
    torch.manual_seed(0)
    return torchvision.models.vgg19(weights=None).eval()


@pytest.fixture(scope="module")
def vgg_files(tv_vgg19, tmp_path_factory):
    """Its weights saved the two ways users have them: a torchvision .pth and a timm-style folder."""
    root = tmp_path_factory.mktemp("vgg19")
    sd = tv_vgg19.state_dict()
    # the trunk's convolutions, one later layer and a classifier tensor (unused keys must be ignored)
    keep = {k: v.clone() for k, v in sd.items()
            if k.startswith(tuple(f"features.{i}." for i in range(13))) or k == "classifier.6.bias"}
    pth = root / "vgg19-random.pth"
    torch.save(keep, pth)
    timm_dir = root / "vgg19-timm"
    timm_dir.mkdir()
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in keep.items()}, str(timm_dir / "model.safetensors"))
    (timm_dir / "config.json").write_text(json.dumps({"architecture": "vgg19", "num_classes": 1000}))
    return {"pth": pth, "timm_dir": timm_dir, "state": keep}


@pytest.fixture(scope="module")
def vgg(vgg_files):
    return VGG19Features(vgg_files["state"])


def images(n, h=40, w=48, seed=0, c=3):
    g = torch.Generator().manual_seed(seed)
    small = torch.rand(n, c, max(2, h // 4), max(2, w // 4), generator=g)
    return F.interpolate(small, size=(h, w), mode="bilinear").permute(0, 2, 3, 1).contiguous()


# ---------------------------------------------------------------------------------------- the math


def test_gram_matches_a_loop_over_channel_pairs():
    g = torch.Generator().manual_seed(1)
    feats = torch.randn(2, 4, 3, 5, generator=g, dtype=torch.float64)
    b, c, h, w = feats.shape
    expected = torch.zeros(b, c, c, dtype=torch.float64)
    for n in range(b):
        for i in range(c):
            for j in range(c):
                expected[n, i, j] = sum(float(feats[n, i, y, x] * feats[n, j, y, x])
                                        for y in range(h) for x in range(w)) / (c * h * w)
    torch.testing.assert_close(gram(feats).double(), expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(gram(feats), torch.einsum("bihw,bjhw->bij", feats, feats).float() / (c * h * w))


def _tutorial_gram(x):
    """gram_matrix of the PyTorch neural-style tutorial (as in MILS), for one image (a = 1)."""
    a, b, c, d = x.size()
    f = x.view(a * b, c * d)
    return torch.mm(f, f.t()).div(a * b * c * d)


def test_style_and_content_losses_match_the_papers_code():
    g = torch.Generator().manual_seed(2)
    cand = {"a": torch.randn(3, 4, 6, 6, generator=g), "b": torch.randn(3, 8, 3, 3, generator=g)}
    style = {"a": torch.randn(1, 4, 6, 6, generator=g), "b": torch.randn(1, 8, 3, 3, generator=g)}
    targets = {k: gram(v)[0] for k, v in style.items()}
    got = style_loss(cand, targets)
    want = torch.tensor([sum(F.mse_loss(_tutorial_gram(cand[k][i:i + 1]), _tutorial_gram(style[k]))
                             for k in ("a", "b")) for i in range(3)])
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-9)
    content = torch.randn(1, 4, 6, 6, generator=g)
    want_c = torch.tensor([F.mse_loss(cand["a"][i:i + 1], content) for i in range(3)])
    torch.testing.assert_close(content_loss(cand["a"], content), want_c)
    # and written out by hand
    i = 1
    d = (cand["a"][i] - content[0]).double()
    assert float(content_loss(cand["a"], content)[i]) == pytest.approx(float((d * d).sum() / d.numel()), rel=1e-5)


class _TwoConv(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.c1 = nn.Conv2d(3, 5, 3, padding=1)
        self.act = nn.ReLU(inplace=True)
        self.c2 = nn.Conv2d(5, 6, 3, padding=1, stride=2)

    def forward(self, x):
        return self.c2(self.act(self.c1(x)))


def test_scorer_matches_a_hand_computation_on_a_small_cnn():
    net = _TwoConv()
    ext = ModuleFeatures(net, {"one": "c1", "two": "c2"}, key="two-conv", content_layer="two")
    assert net.act.inplace is False  # a tap must never be overwritten by an in-place ReLU
    style, content, cands = images(1, 32, 32, seed=4), images(1, 32, 32, seed=5), images(3, 32, 32, seed=6)
    scorer = GramStyleScorer(ext, style, content, style_weight=1000.0, content_weight=2.0, size=32)
    pairs = scorer.score_images(cands)

    def feats(img):  # 32 x 32 needs no resize or crop: normalise and run the convolutions directly
        x = (img.permute(0, 3, 1, 2) - MEAN) / STD
        one = net.c1(x)
        return one, net.c2(F.relu(one))

    with torch.no_grad():
        s1, s2 = feats(style)
        c2 = feats(content)[1]
        for i, (s, c) in enumerate(pairs):
            o1, o2 = feats(cands[i:i + 1])
            ws = F.mse_loss(_tutorial_gram(o1), _tutorial_gram(s1)) + F.mse_loss(_tutorial_gram(o2), _tutorial_gram(s2))
            assert s == pytest.approx(float(ws), rel=1e-4)
            assert c == pytest.approx(float(F.mse_loss(o2, c2)), rel=1e-4)
    combined = scorer.combined(cands)
    assert combined == pytest.approx([1000 * s + 2 * c for s, c in pairs])


def test_preprocessing_is_resize_shorter_side_then_centre_crop():
    img = torch.zeros(1, 100, 300, 3)
    img[:, :, 100:200] = 1.0  # a white band in the middle third
    x = prepare_images(img, 64)
    assert x.shape == (1, 3, 64, 64)
    assert float(x.mean()) > 0.95  # the crop keeps the centre: the band fills it


# ------------------------------------------------------------------------------------------- VGG19


def test_vgg19_taps_are_pre_relu_with_the_papers_shapes(tv_vgg19, vgg_files):
    ext = load_vgg19(vgg_files["pth"], device="cpu")  # compared with torchvision on the CPU
    assert ext.style_layers == STYLE_LAYERS and ext.content_layer == CONTENT_LAYER == "conv_4"
    x = torch.rand(1, 3, 256, 256)
    with torch.no_grad():
        got = ext.layers(ext.preprocess(x))
        normed = (x - MEAN) / STD
        ref = tv_vgg19.features
        want = {"conv_1": ref[:1](normed), "conv_2": ref[:3](normed), "conv_3": ref[:6](normed),
                "conv_4": ref[:8](normed), "conv_5": ref[:11](normed)}
    shapes = {"conv_1": (64, 256, 256), "conv_2": (64, 256, 256), "conv_3": (128, 128, 128),
              "conv_4": (128, 128, 128), "conv_5": (256, 64, 64)}
    assert list(got) == list(STYLE_LAYERS)
    for name, t in got.items():
        assert tuple(t.shape[1:]) == shapes[name]
        assert float(t.min()) < 0, f"{name} has no negative values: it is after a ReLU"
        torch.testing.assert_close(t, want[name], rtol=1e-4, atol=1e-4)
    assert all(not m.inplace for m in ext.model.modules() if isinstance(m, nn.ReLU))


def test_timm_safetensors_folder_loads_the_same_weights_once(vgg_files):
    a = load_vgg19(vgg_files["pth"])
    loads = MODEL_CACHE.loads
    b = registry.load_gram_features(str(vgg_files["timm_dir"]))
    assert registry.load_gram_features(f"vgg19:{vgg_files['timm_dir']}") is b  # cached
    assert MODEL_CACHE.loads == loads + 1
    for (ka, va), (kb, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert ka == kb and torch.equal(va.cpu(), vb.cpu())
    assert registry.detect_scorer_kind(vgg_files["timm_dir"]) == "vgg19"
    with pytest.raises(InputError, match="Gram style scorer"):
        registry.load_scorer_model(str(vgg_files["timm_dir"]))


def test_vgg19_preset_loads_from_the_models_folder(vgg_files, tmp_path):
    with pytest.raises(ModelNotFoundError, match="mils download vgg19"):
        registry.load_gram_features("vgg19", models_dir=tmp_path)
    target = registry.preset_dir(registry.get_preset("vgg19"), tmp_path)
    assert target == tmp_path / "mils" / "vgg19"
    target.mkdir(parents=True)
    (target / "model.safetensors").write_bytes((vgg_files["timm_dir"] / "model.safetensors").read_bytes())
    (target / ".mils-complete").write_text("timm/vgg19.tv_in1k\n")
    ext = registry.load_gram_features("vgg19", models_dir=tmp_path)
    assert isinstance(ext, VGG19Features) and ext.key.startswith("vgg19:")
    with pytest.raises(InputError, match="not an encoder|encoder preset"):
        registry.load_scorer_model("vgg19", models_dir=tmp_path)
    with pytest.raises(InputError, match="features"):
        registry.load_gram_features("siglip-b16", models_dir=tmp_path)


def test_missing_or_wrong_weights_say_what_to_do(tmp_path):
    missing = tmp_path / "vgg19-dcbb9e9d.pth"
    with pytest.raises(ModelNotFoundError, match=r"vgg19-dcbb9e9d\.pth.*mils download vgg19"):
        load_vgg19(missing)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelNotFoundError, match="mils download vgg19"):
        load_vgg19(empty)
    bn = tmp_path / "vgg19_bn.pth"
    torch.save(torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["E"][:5], batch_norm=True)
               .state_dict(), bn)  # keys "0.weight", "1.weight" ...: batch norm at 1, conv at 3
    with pytest.raises(InputError, match="features"):
        load_vgg19(bn)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="features.*not a valid model file"):
        load_vgg19(junk)


# ----------------------------------------------------------------------------------------- scoring


def test_batched_equals_one_at_a_time(vgg):
    style, content, cands = images(1, 50, 60, seed=1), images(1, 64, 64, seed=2), images(5, 70, 56, seed=3)
    batched = GramStyleScorer(vgg, style, content, size=64, batch_size=4).score_images(cands)
    single = GramStyleScorer(vgg, style, content, size=64, batch_size=1)
    one = [single.score_images(cands[i:i + 1])[0] for i in range(5)]
    for (bs, bc), (os_, oc) in zip(batched, one):
        assert bs == pytest.approx(os_, rel=1e-4) and bc == pytest.approx(oc, rel=1e-4)
    assert single.effective_batch_size == 1
    assert GramStyleScorer(vgg, style, size=64).effective_batch_size == 1  # None: by device (CPU here)


def test_the_style_image_itself_has_zero_style_loss(vgg):
    style, content = images(1, 64, 64, seed=7), images(1, 64, 64, seed=8)
    scorer = GramStyleScorer(vgg, style, content, size=64)
    cands = torch.cat([style, content, images(2, 64, 64, seed=9)])
    (s0, c0), (s1, c1), *rest = scorer.score_images(cands)
    others = [s1] + [s for s, _ in rest]
    assert s0 <= 1e-6 * min(others) and c1 <= 1e-6 * min(c0, *(c for _, c in rest))
    assert scorer.direction == "minimize"
    keys = scorer.combined(cands)
    assert min(range(4), key=keys.__getitem__) in (0, 1)


def test_format_shows_style_and_content_like_the_paper(vgg):
    style, content = images(1, 32, 32, seed=1), images(1, 32, 32, seed=2)
    scorer = GramStyleScorer(vgg, style, content, size=32, style_weight=1000.0, content_weight=1.0)
    cand = images(1, 32, 32, seed=3)
    [(s, c)] = scorer.score_images(cand)
    [key] = scorer.combined(cand)
    assert scorer.format_score(key) == f"{1000 * s:.4g}, {c:.4g}"
    assert scorer.format_score(12.5) == "12.5"  # a score it never produced: just the number
    style_only = GramStyleScorer(vgg, style, size=32)
    [k2] = style_only.combined(cand)
    assert style_only.format_score(k2) == f"{1000 * style_only.score_images(cand)[0][0]:.4g}"
    assert style_only.score_images(cand)[0][1] == 0.0
    # as the image scorer of a render search: one score per image, lower is better, the style itself best
    ranked = style_only.image_scores(torch.cat([cand, style]))
    assert style_only.direction == "minimize" and len(ranked) == 2 and ranked[1] < ranked[0]
    assert ranked[1] == pytest.approx(0.0, abs=1e-6) and style_only.format_score(ranked[1]) == ranked[1].shown


def test_inputs_are_converted_as_documented(vgg):
    cand = images(2, 32, 32, seed=5)

    def style_losses(style):
        return [s for s, _ in GramStyleScorer(vgg, style, size=32).score_images(cand)]

    rgb = images(1, 32, 32, seed=4)
    want = style_losses(rgb)
    # alpha: composited on white, so opaque RGBA is the RGB image ...
    assert style_losses(torch.cat([rgb, torch.ones(1, 32, 32, 1)], dim=-1)) == pytest.approx(want, rel=1e-5)
    # ... and a fully transparent one is a white image
    assert (style_losses(torch.cat([rgb, torch.zeros(1, 32, 32, 1)], dim=-1))
            == pytest.approx(style_losses(torch.ones(1, 32, 32, 3)), rel=1e-5))
    # grayscale: repeated to RGB
    gray = rgb.mean(-1, keepdim=True)
    assert style_losses(gray) == pytest.approx(style_losses(gray.expand(-1, -1, -1, 3)), rel=1e-5)
    # uint8 is divided by 255
    u8 = (rgb * 255).round().to(torch.uint8)
    assert style_losses(u8) == pytest.approx(style_losses(u8.float() / 255), rel=1e-5)


@pytest.mark.parametrize("kwargs, name", [
    ({"style_image": torch.rand(1, 1, 1, 3)}, "style_image"),
    ({"style_image": torch.rand(1, 1, 40, 3)}, "style_image"),
    ({"content_image": torch.rand(1, 1, 1, 3)}, "content_image"),
    ({"content_image": torch.rand(2, 32, 32, 3)}, "content_image"),
    ({"style_image": torch.rand(3, 32, 32, 3)}, "style_image"),
    ({"style_image": torch.full((1, 8, 8, 3), float("nan"))}, "style_image"),
    ({"content_image": torch.rand(32, 32, 3)}, "content_image"),
    ({"style_image": torch.rand(1, 32, 32, 2)}, "style_image"),
    ({"style_weight": -1.0}, "style_weight"),
    ({"content_weight": float("inf")}, "content_weight"),
    ({"size": 8}, "size"),
])
def test_bad_inputs_name_the_input(vgg, kwargs, name):
    args = {"style_image": images(1, 32, 32), "content_image": images(1, 32, 32, seed=1), "size": 32, **kwargs}
    with pytest.raises(InputError, match=f"^{name}:"):
        GramStyleScorer(vgg, **args)


def test_bad_candidates_name_images(vgg):
    scorer = GramStyleScorer(vgg, images(1, 32, 32), size=32)
    bad = images(2, 32, 32)
    bad[1, 3, 3, 0] = float("nan")
    with pytest.raises(InputError, match="^images:.*NaN"):
        scorer.score_images(bad)
    with pytest.raises(InputError, match="^images:"):
        scorer.score_images(torch.rand(1, 1, 1, 3))


# ------------------------------------------------------------------------------- texts via renders


class StripeRenderer:
    """Paints stripes whose period is the number in the text ("stripes 4"); deterministic."""

    key = "stripes"

    def __init__(self):
        self.calls = []

    def render(self, texts, seed):
        self.calls.append(list(texts))
        out = []
        for t in texts:
            period = int(t.split()[-1])
            x = torch.arange(32)
            img = ((x // period) % 2).float()[None, :, None].expand(32, 32, 3).clone()
            out.append(img)
        return torch.stack(out)


def test_render_scorer_ranks_instructions_by_style_and_renders_each_once(vgg):
    renderer = StripeRenderer()
    style = renderer.render(["stripes 4"], 0)[:1]
    gram_scorer = GramStyleScorer(vgg, style, size=32)
    scorer = GramRenderScorer(renderer, gram_scorer, seed=5, batch_size=2, cache=RenderCache())
    assert scorer.direction == "minimize"
    texts = ["stripes 16", "stripes 4", "stripes 8", "stripes 4"]
    scores = scorer.score(texts)
    assert min(range(4), key=scores.__getitem__) in (1, 3) and scores[1] == scores[3]
    assert scorer.renders == 3 and all(len(c) <= 2 for c in renderer.calls) and scorer.encodes == 4
    again = scorer.score(["stripes 8"])
    assert again == pytest.approx([scores[2]]) and scorer.renders == 3 and scorer.cache.hits >= 1
    assert scorer.format_score(scores[0]) == f"{1000 * scorer.pairs(['stripes 16'])[0][0]:.4g}"
    assert scorer.key.startswith("render(stripes,seed=5)|gram(")


# ------------------------------------------------------------------------------------------- node


VGG_FILE = "vgg19-dcbb9e9d.pth"
STYLE, CONTENT, CANDIDATES = images(1, 40, 40, seed=1), images(1, 40, 40, seed=2), images(3, 40, 40, seed=3)


@pytest.fixture
def empty_models_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MILS_MODELS_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def gram_models_dir(empty_models_dir, vgg_files):
    """models/mils with the VGG19 weights under the name the vgg19 preset downloads, and another weight file."""
    (empty_models_dir / "mils").mkdir()
    (empty_models_dir / "mils" / VGG_FILE).write_bytes(vgg_files["pth"].read_bytes())
    (empty_models_dir / "mils" / "other.safetensors").write_bytes(b"")
    return empty_models_dir


def gram_style(features=VGG_FILE, style=STYLE, **images):
    from mils_pack.nodes.gram import MILSGramStyle

    return MILSGramStyle().score(features, style, 1000.0, 1.0, 32, **images)


def test_gram_style_node_without_weights_says_how_to_get_them(empty_models_dir):
    from mils_pack.nodes import gram as gram_node

    assert gram_node.feature_choices() == [gram_node.NOT_FOUND]
    with pytest.raises(InputError, match="^features:.*mils download vgg19"):
        gram_style(gram_node.NOT_FOUND)


def test_gram_style_node_lists_vgg_weights_first(gram_models_dir):
    from mils_pack.nodes import gram as gram_node

    assert gram_node.feature_choices() == [VGG_FILE, "other.safetensors"]


def test_gram_style_node_scores_images_like_the_scorer(gram_models_dir, vgg_files):
    handle, scores = gram_style(content_image=CONTENT, images=CANDIDATES)["result"]
    want = GramStyleScorer(load_vgg19(vgg_files["pth"]), STYLE, CONTENT, size=32).combined(CANDIDATES)
    assert scores == pytest.approx(want, rel=1e-5)


def test_gram_style_node_shows_a_line_per_image(gram_models_dir):
    text = gram_style(content_image=CONTENT, images=CANDIDATES)["ui"]["text"][0]
    assert all(f"image {i}" in text for i in (1, 2, 3))


def test_gram_style_node_hands_the_loop_the_same_scorer(gram_models_dir):
    handle, scores = gram_style(content_image=CONTENT, images=CANDIDATES)["result"]
    assert handle.use().combined(CANDIDATES) == pytest.approx(scores)
    scorer = handle.use()  # what the style-transfer job gets from the scorer socket: encoded once, reused
    assert scorer is handle.use() and (scorer.size, scorer.style_weight, scorer.has_content) == (32, 1000, True)


def test_gram_style_node_without_images_scores_nothing(gram_models_dir):
    assert gram_style()["result"][1] == []


@pytest.mark.parametrize("inputs, name", [({"style": torch.rand(1, 1, 1, 3)}, "style_image"),
                                          ({"content_image": torch.rand(2, 8, 8, 3)}, "content_image")])
def test_gram_style_node_bad_images_name_their_input(gram_models_dir, inputs, name):
    with pytest.raises(InputError, match=f"^{name}:"):
        gram_style(**inputs)


@pytest.mark.parametrize("features, why", [("other.safetensors", ""), ("gone.pth", "not there")])
def test_gram_style_node_unusable_weights_name_features(gram_models_dir, features, why):
    with pytest.raises(InputError, match=f"^features:.*{why}"):
        gram_style(features)
