"""The LLM and the scorer inside ComfyUI's model management, with ComfyUI faked (CI has no ComfyUI).

``FakeComfy`` stands in for comfy.model_management (load_models_gpu / unload_all_models / loaded_models,
the dtype questions ComfyUI answers for a device) and comfy.model_patcher.ModelPatcher. The device is
faked too: a CUDA device's answers come from its compute capability, as ComfyUI derives them; no GPU is
used. The same behaviour inside a real ComfyUI is tested in tests/comfyui/test_comfy_render.py.
"""
import sys
import types
from types import SimpleNamespace

import pytest
import torch
from mils_pack.nodes import bridge, model_memory
from mils_pack.nodes.llm import MILSLocalLLM
from mils_pack.nodes.loop import MILSLoop
from mils_pack.nodes.renderer import MILSRenderer
from mils_pack.nodes.scorer import MILSScorerLoader

from devkit.toys import ColourWordsEncoder, ToyLLM
from mils import registry
from mils.errors import InputError


class FakePatcher:
    def __init__(self, model, load_device, offload_device):
        self.model, self.load_device, self.offload_device = model, load_device, offload_device

    def model_size(self):
        return sum(p.numel() * p.element_size() for p in self.model.parameters())


class FakeComfy:
    """What the bridge asks of ComfyUI's model management, with a faked compute device."""

    def __init__(self, device="cpu", capability=(8, 6), bf16_works=True):
        self.device, self.capability, self.bf16_works = torch.device(device), capability, bf16_works
        self.loaded: list[FakePatcher] = []
        self.loads: dict[int, int] = {}      # id(patcher) -> times it was (re)loaded
        self.full_load_flags: list[bool] = []
        self.args = SimpleNamespace(fp32_text_enc=False, fp16_text_enc=False, bf16_text_enc=False)

    # model management
    def load_models_gpu(self, models, memory_required=0, force_patch_weights=False, minimum_memory_required=None,
                        force_full_load=False):
        for m in models:
            self.full_load_flags.append(force_full_load)
            if m not in self.loaded:
                self.loaded.insert(0, m)
                self.loads[id(m)] = self.loads.get(id(m), 0) + 1

    def unload_all_models(self):
        self.loaded.clear()

    def loaded_models(self, only_currently_used=False):
        return list(self.loaded)

    def holds(self, module) -> bool:
        return any(p.model.inner is module for p in self.loaded)

    # the device and what ComfyUI says it computes in
    def get_torch_device(self):
        return self.device

    def unet_offload_device(self):
        return torch.device("cpu")

    def is_device_cpu(self, dev):
        return torch.device(dev).type == "cpu"

    def should_use_fp16(self, device=None, model_params=0, prioritize_performance=True, manual_cast=False):
        return not self.is_device_cpu(device) and self.capability[0] >= 6

    def should_use_bf16(self, device=None, model_params=0, prioritize_performance=True, manual_cast=False):
        if self.is_device_cpu(device):
            return False
        return self.capability[0] >= 8 or (manual_cast and self.bf16_works)

    def install(self, monkeypatch, tmp_path):
        mm = types.ModuleType("comfy.model_management")
        for name in ("load_models_gpu", "unload_all_models", "loaded_models", "get_torch_device",
                     "unet_offload_device", "is_device_cpu", "should_use_fp16", "should_use_bf16"):
            setattr(mm, name, getattr(self, name))
        mm.args = self.args
        mm.current_loaded_models = []
        mm.soft_empty_cache = lambda force=False: None
        mm.processing_interrupted = lambda: False
        mm.throw_exception_if_processing_interrupted = lambda: None
        mm.InterruptProcessingException = type("InterruptProcessingException", (Exception,), {})
        patcher = types.ModuleType("comfy.model_patcher")
        patcher.ModelPatcher = FakePatcher
        utils = types.ModuleType("comfy.utils")
        utils.ProgressBar = lambda total: SimpleNamespace(update_absolute=lambda *a, **k: None)
        comfy = types.ModuleType("comfy")
        comfy.model_management, comfy.model_patcher, comfy.utils = mm, patcher, utils
        folder_paths = types.ModuleType("folder_paths")
        folder_paths.get_temp_directory = lambda: str(tmp_path)
        for name, module in (("comfy", comfy), ("comfy.model_management", mm), ("comfy.model_patcher", patcher),
                             ("comfy.utils", utils), ("folder_paths", folder_paths)):
            monkeypatch.setitem(sys.modules, name, module)
        assert bridge.in_comfyui()
        return self


@pytest.fixture
def fake_comfy(monkeypatch, tmp_path):
    return lambda **kw: FakeComfy(**kw).install(monkeypatch, tmp_path)


# --- dtype: what ComfyUI would pick for a text encoder on the COMPUTE device -------------------------

@pytest.mark.parametrize("device, capability, expected", [
    ("cuda:0", (8, 6), "bfloat16"),   # Ampere and newer
    ("cuda:0", (7, 5), "float16"),    # Turing: no native bf16
    ("cuda:0", (5, 2), "float32"),    # Maxwell: neither
    ("cpu", (8, 6), "float32"),
])
def test_auto_dtype_is_comfyuis_pick_for_the_compute_device(fake_comfy, device, capability, expected):
    fake_comfy(device=device, capability=capability)
    # the models are LOADED on the offload device (the CPU); the precision follows where they compute
    assert model_memory.load_device_for("auto") == "cpu"
    assert model_memory.compute_dtype("auto") == expected


def test_explicit_dtype_wins_and_text_encoder_flags_apply_to_auto(fake_comfy):
    comfy = fake_comfy(device="cuda:0", capability=(8, 9))
    assert model_memory.compute_dtype("float32") == "float32" and model_memory.compute_dtype("float16") == "float16"
    assert model_memory.compute_dtype("auto", "cpu") == "float32"   # the node's device widget names the CPU
    comfy.args.fp32_text_enc = True
    assert model_memory.compute_dtype("auto") == "float32"


def test_a_dtype_the_device_cannot_run_names_the_dtype_input(fake_comfy):
    fake_comfy(device="cuda:0", capability=(7, 5), bf16_works=False)
    with pytest.raises(InputError) as e:
        model_memory.compute_dtype("bfloat16")
    assert e.value.input_name == "dtype" and "bfloat16" in str(e.value) and "float16" in str(e.value)
    with pytest.raises(InputError) as e:
        model_memory.compute_dtype("int8")
    assert e.value.input_name == "dtype"


class ModuleLLM(ToyLLM):
    """The toy LLM behind a real torch module; asserts the module is resident whenever it generates."""

    comfy: FakeComfy | None = None

    def __init__(self):
        super().__init__()
        self.model = torch.nn.Linear(4, 4)

    def generate(self, prompt, params):
        assert self.comfy is None or self.comfy.holds(self.model), "generate called on an evicted LLM"
        return super().generate(prompt, params)


class ModuleEncoder(ColourWordsEncoder):
    comfy: FakeComfy | None = None

    def __init__(self):
        super().__init__()
        self.model = torch.nn.Linear(4, 4)

    def encode_text(self, texts):
        assert self.comfy is None or self.comfy.holds(self.model), "encode called on an evicted scorer"
        return super().encode_text(texts)


def test_the_loaders_load_in_the_compute_dtype_on_the_offload_device(fake_comfy, monkeypatch, tmp_path):
    comfy = fake_comfy(device="cuda:0", capability=(8, 0))
    seen = []
    monkeypatch.setattr(bridge, "resolve_model", lambda key, name: tmp_path / name)
    monkeypatch.setattr(registry, "load_llm", lambda source, device, dtype: seen.append(("llm", device, dtype))
                        or ModuleLLM())
    monkeypatch.setattr(registry, "load_scorer_model", lambda spec, device, dtype: seen.append(
        ("scorer", device, dtype)) or ModuleEncoder())
    (llm,) = MILSLocalLLM().load("tiny", "", "auto", "auto", True)
    (scorer,) = MILSScorerLoader().load("(use source below)", "auto", str(tmp_path), "auto", "auto", True)
    assert seen == [("llm", "cpu", "bfloat16"), ("scorer", "cpu", "bfloat16")]
    assert comfy.holds(llm.obj.model) and comfy.holds(scorer.obj.model) and all(comfy.full_load_flags)


def test_the_llm_loader_refuses_a_dtype_its_device_cannot_run(fake_comfy, monkeypatch, tmp_path):
    fake_comfy(device="cuda:0", capability=(7, 5), bf16_works=False)
    monkeypatch.setattr(bridge, "resolve_model", lambda key, name: tmp_path / name)
    monkeypatch.setattr(registry, "load_llm", lambda source, device, dtype: pytest.fail("loaded anyway"))
    with pytest.raises(InputError) as e:
        MILSLocalLLM().load("tiny", "", "bfloat16", "auto", True)
    assert e.value.input_name == "dtype"


# --- eviction between rounds: loaded back before every use, same result ------------------------------

class EvictingRenderer:
    """Stands in for ComfyUI sampling with the user's MODEL: paints the colour a prompt names, and (like a
    sampler that needs the VRAM) may unload every model first."""

    evict = False
    comfy: FakeComfy | None = None

    def __init__(self, model, clip, vae, **kw):
        self.key = "paint"

    def render(self, texts, seed):
        if self.evict:
            self.comfy.unload_all_models()
        cols = {"red": 0, "green": 1, "blue": 2}
        out = []
        for t in texts:
            img = torch.full((8, 8, 3), 0.1)
            idx = next((cols[w] for w in reversed(t.split()) if w in cols), None)
            if idx is not None:
                img[..., idx] = 0.9
            out.append(img)
        return torch.stack(out)

    def conditioning(self, text):
        return [[torch.zeros(1, 77, 8), {"pooled_output": None, "text": text}]]


def run_enhancement(comfy, evict: bool):
    import mils_pack.nodes.comfy_render as comfy_render

    EvictingRenderer.evict, EvictingRenderer.comfy = evict, comfy
    ModuleLLM.comfy = ModuleEncoder.comfy = comfy
    comfy_render.ComfyRenderer = EvictingRenderer
    llm = model_memory.ManagedModel(ModuleLLM, label="llm")
    scorer = model_memory.ManagedModel(ModuleEncoder, label="scorer")
    settings = MILSRenderer().make(object(), object(), object(), "euler", "normal", 2, 7.0, 64, 64, "", 3)[0]
    out = MILSLoop().run(llm, task="auto", budget="preview", keep=4, new_per_step=5, steps=4, parallel=0,
                         patience=0, seed=3, scorer=scorer, text="a light red poster", initial="a blue poster",
                         renderer=settings)
    best, top_k, scores = out["result"][:3]
    return (best, top_k, [round(float(s), 6) for s in scores]), llm, scorer


def test_an_eviction_between_rounds_reloads_the_models_and_changes_nothing(fake_comfy, monkeypatch, tmp_path):
    import mils_pack.nodes.comfy_render as comfy_render

    monkeypatch.setattr(bridge, "state_dir", lambda: tmp_path / "states")
    monkeypatch.setattr(comfy_render, "ComfyRenderer", comfy_render.ComfyRenderer)   # restored afterwards
    monkeypatch.setattr(ModuleLLM, "comfy", None)
    monkeypatch.setattr(ModuleEncoder, "comfy", None)
    kept = fake_comfy()
    quiet, llm0, scorer0 = run_enhancement(kept, evict=False)
    assert kept.loads == {id(llm0.patcher): 1, id(scorer0.patcher): 1}   # loaded once, never evicted

    evicted = fake_comfy()
    noisy, llm1, scorer1 = run_enhancement(evicted, evict=True)
    assert noisy == quiet
    llm_calls = llm1.obj.calls
    # every round rendered (and evicted everything) after the LLM's call: each later call reloaded it
    assert llm_calls >= 3 and evicted.loads[id(llm1.patcher)] >= llm_calls
    assert evicted.loads[id(scorer1.patcher)] >= llm_calls
    assert all(evicted.full_load_flags)
