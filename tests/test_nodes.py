"""The node classes called directly, without ComfyUI (the bridge degrades to no-ops)."""
import json
import shutil
from pathlib import Path

import mils_pack.nodes as nodes
import pytest
import torch
from mils_pack.nodes import bridge
from mils_pack.nodes.model_memory import ManagedModel
from mils_pack.nodes.llm import MILSLLMGenerate, MILSLocalLLM, MILSOpenAILLM
from mils_pack.nodes.scorer import MILSScore, MILSScorerLoader

from devkit.tiny_models import make_tiny_llama, make_tiny_open_clip_dir
from devkit.toys import ColourWordsEncoder, ScriptedLLM, ToyLLM
from mils.errors import GeneratorError, InputError

SCHEMA_FILE = Path(__file__).parent / "data" / "node_schemas.json"


def node_schema(cls) -> dict:
    spec = cls.INPUT_TYPES()
    inputs = {section: {name: (v[0] if isinstance(v[0], str) else "COMBO") for name, v in spec.get(section, {}).items()}
              for section in ("required", "optional")}
    return {"inputs": inputs, "outputs": list(cls.RETURN_TYPES),
            "output_is_list": list(getattr(cls, "OUTPUT_IS_LIST", [False] * len(cls.RETURN_TYPES)))}


def current_schemas() -> dict:
    return {node_id: node_schema(cls) for node_id, cls in nodes.NODE_CLASS_MAPPINGS.items()}


def test_node_ids_inputs_and_outputs_are_stable():
    """Saved workflows name node ids, inputs and outputs: changing one breaks users' files.

    Adding a node or an optional input is fine: regenerate the file with
    `python -c "import tests.test_nodes as t; t.write_schemas()"` and review the diff.
    """
    saved = json.loads(SCHEMA_FILE.read_text())
    now = current_schemas()
    for node_id, schema in saved.items():
        assert node_id in now, f"node {node_id} disappeared"
        for section in ("required", "optional"):
            for name, typ in schema["inputs"][section].items():
                assert now[node_id]["inputs"][section].get(name) == typ, f"{node_id}.{name} changed or vanished"
        assert now[node_id]["outputs"][:len(schema["outputs"])] == schema["outputs"], f"{node_id} outputs changed"
        assert now[node_id]["output_is_list"][:len(schema["outputs"])] == schema["output_is_list"]
    assert set(now) == set(saved), "a new node: add it to tests/data/node_schemas.json"


def write_schemas():  # pragma: no cover - maintenance helper
    SCHEMA_FILE.write_text(json.dumps(current_schemas(), indent=1, sort_keys=True) + "\n")


@pytest.mark.parametrize("node_id", sorted(nodes.NODE_CLASS_MAPPINGS))
def test_node_declarations_are_well_formed(node_id):
    cls = nodes.NODE_CLASS_MAPPINGS[node_id]
    assert node_id.startswith("MILS") and cls.CATEGORY.startswith("MILS")
    assert cls.DESCRIPTION and hasattr(cls, cls.FUNCTION)
    n = len(cls.RETURN_TYPES)
    assert len(cls.RETURN_NAMES) == n and len(cls.OUTPUT_TOOLTIPS) == n
    assert len(getattr(cls, "OUTPUT_IS_LIST", [False] * n)) == n
    spec = cls.INPUT_TYPES()
    for section in ("required", "optional"):
        for name, value in spec.get(section, {}).items():
            assert isinstance(value, tuple) and 1 <= len(value) <= 2, name
            assert isinstance(value[0], (str, list)), name
            assert value[1].get("tooltip"), f"{node_id}.{name} has no tooltip"
    assert nodes.NODE_DISPLAY_NAME_MAPPINGS[node_id]


def test_root_package_registers_nothing_outside_comfyui():
    import importlib.util
    import sys

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("mils_pack_probe", root / "__init__.py",
                                                  submodule_search_locations=[str(root)])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["mils_pack_probe"] = mod
    try:
        spec.loader.exec_module(mod)
    finally:
        del sys.modules["mils_pack_probe"]
    assert mod.NODE_CLASS_MAPPINGS == {} and mod.WEB_DIRECTORY == "./web"


# --- models in the pack's folders -------------------------------------------------------------

@pytest.fixture
def models_dir(tmp_path, monkeypatch):
    d = tmp_path / "models"
    monkeypatch.setenv("MILS_MODELS_DIR", str(d))
    make_tiny_llama(d / "LLM" / "tiny-llama")
    src = Path(make_tiny_open_clip_dir(tmp_path / "build").removeprefix("local-dir:"))
    shutil.copytree(src, d / "mils" / "tiny-clip")
    return d


def test_loaders_list_the_model_folders_and_load(models_dir):
    assert "tiny-llama" in MILSLocalLLM.INPUT_TYPES()["required"]["model"][0]
    assert "tiny-clip" in MILSScorerLoader.INPUT_TYPES()["required"]["model"][0]
    (llm,) = MILSLocalLLM().load("tiny-llama", "", "auto", "cpu", True)
    (scorer,) = MILSScorerLoader().load("tiny-clip", "auto", "", "auto", "cpu", True)
    assert llm.use().key.startswith("transformers:") and scorer.use().key.startswith("open_clip:")
    # a second load of the same model is the same object (ComfyUI re-queues reload nothing)
    (again,) = MILSLocalLLM().load("tiny-llama", "", "auto", "cpu", True)
    assert again.use() is llm.use()


class RecordingLLM(ScriptedLLM):
    """A scripted LLM that also keeps the prompts and generation parameters it was given."""

    def __init__(self, replies):
        super().__init__(replies)
        self.requests = []

    def generate(self, prompt, params):
        self.requests.append((prompt, params))
        return super().generate(prompt, params)


def test_llm_generate_node_returns_a_list():
    reply = ("Here you go:\n1. a tabby cat asleep\n2. **a cat on a red sofa**\n3. A tabby cat asleep.\n"
             "4. a cat by a window\n5. one too many")
    llm = RecordingLLM([reply])
    out = MILSLLMGenerate().generate(ManagedModel(lambda: llm, label="scripted"), "Rewrite this", "a cat", 3, 5,
                                     0.5, 0.9, 64)
    # parsed, markdown stripped, the repeat dropped, cut to the count asked for
    assert out["result"] == (["a tabby cat asleep", "a cat on a red sofa", "a cat by a window"], reply)
    assert out["ui"]["text"] == ["1. a tabby cat asleep\n2. a cat on a red sofa\n3. a cat by a window"]
    (prompt, params), = llm.requests
    assert prompt.startswith("Rewrite this\n\na cat\n\nWrite 3 different answers")
    assert (params.seed, params.temperature, params.top_p, params.max_new_tokens) == (5, 0.5, 0.9, 64)


def test_llm_generate_node_with_a_local_model_is_seeded(models_dir):
    (llm,) = MILSLocalLLM().load("tiny-llama", "", "auto", "cpu", True)
    first = MILSLLMGenerate().generate(llm, "describe", "a cat", 3, 5, 1.0, 0.95, 12)["result"]
    again = MILSLLMGenerate().generate(llm, "describe", "a cat", 3, 5, 1.0, 0.95, 12)["result"]
    other = MILSLLMGenerate().generate(llm, "describe", "a cat", 3, 6, 1.0, 0.95, 12)["result"]
    assert again == first, "same seed, same reply: ComfyUI may cache the node's output"
    assert other[1] != first[1], "another seed samples another reply"


def test_keep_loaded_off_frees_the_model_after_use(models_dir):
    from mils.model_cache import MODEL_CACHE

    (llm,) = MILSLocalLLM().load("tiny-llama", "", "auto", "cpu", False)
    obj = llm.use()
    assert any(MODEL_CACHE.peek(k) is obj for k in MODEL_CACHE.keys())
    llm.release()
    assert llm.obj is None and not any(MODEL_CACHE.peek(k) is obj for k in MODEL_CACHE.keys())
    assert llm.use().key == obj.key  # loads again on the next use


def test_loader_errors_name_their_input(models_dir, monkeypatch):
    with pytest.raises(InputError, match="hub_id"):
        MILSLocalLLM().load("(use hub_id below)", "  ", "auto", "cpu", True)
    with pytest.raises(InputError, match="model"):
        MILSLocalLLM().load("gone", "", "auto", "cpu", True)
    monkeypatch.delenv("MY_KEY", raising=False)
    with pytest.raises(InputError, match="api_key_env"):
        MILSOpenAILLM().connect("http://127.0.0.1:9/v1", "m", "MY_KEY", 5.0, 0, False)
    with pytest.raises(InputError, match="source"):
        MILSScorerLoader().load("(use source below)", "auto", "", "auto", "cpu", True)
    bad = models_dir / "mils" / "broken.safetensors"
    bad.write_bytes(b"not a model")
    with pytest.raises(InputError, match="source"):
        MILSScorerLoader().load("broken.safetensors", "auto", "", "auto", "cpu", True)


def reused_by_comfyui(cls, before: dict, after: dict) -> bool:
    """ComfyUI's cache rule: a node's last output is reused when its inputs are unchanged and so is what its
    IS_CHANGED returns (ComfyUI calls IS_CHANGED with all the node's inputs as keywords)."""
    return before == after and cls.IS_CHANGED(**before) == cls.IS_CHANGED(**after)


def test_openai_node_is_not_cached_unless_the_server_honours_seeds():
    inputs = dict(base_url="http://127.0.0.1:9/v1", model="m", api_key_env="", timeout=5.0, max_retries=0,
                  server_honours_seed=True)
    assert set(inputs) == set(MILSOpenAILLM.INPUT_TYPES()["required"])
    assert reused_by_comfyui(MILSOpenAILLM, inputs, dict(inputs))
    assert not reused_by_comfyui(MILSOpenAILLM, inputs, {**inputs, "model": "other"})
    # a server that ignores seeds answers differently every time: each queue asks it again
    ignores = {**inputs, "server_honours_seed": False}
    assert not reused_by_comfyui(MILSOpenAILLM, ignores, dict(ignores))


def test_llm_server_down_is_a_clear_error():
    (llm,) = MILSOpenAILLM().connect("http://127.0.0.1:9/v1", "m", "", 1.0, 0, False)
    with pytest.raises(GeneratorError, match="127.0.0.1:9"):
        MILSLLMGenerate().generate(llm, "describe", "a cat", 2, 0, 0.5, 0.9, 32)


# --- scoring and the loop with toy models (mechanics) ------------------------------------------

def toy_handles():
    return ManagedModel(ToyLLM, label="toy llm"), ManagedModel(ColourWordsEncoder, label="toy scorer")


def red_image(b=1):
    img = torch.zeros(b, 16, 16, 3)
    img[..., 0] = 0.9
    return img


def test_score_node_ranks_texts_against_an_image():
    _, scorer = toy_handles()
    out = MILSScore().score(scorer, "a light blue sea\na dark red wall\n\n# comment", target_image=red_image())
    scores, ranked, best = out["result"]
    assert len(scores) == 2 and best == "a dark red wall" == ranked[0]


def test_score_node_needs_exactly_one_target():
    _, scorer = toy_handles()
    with pytest.raises(InputError, match="image"):
        MILSScore().score(scorer, "a cat")
    with pytest.raises(InputError, match="text"):
        MILSScore().score(scorer, "a cat", target_image=red_image(), target_text="red")
    with pytest.raises(InputError, match="texts"):
        MILSScore().score(scorer, "\n\n", target_image=red_image())


def test_nodes_never_download_a_hub_id_that_is_not_cached(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(InputError, match="hub_id.*not in the Hugging Face cache.*MILS Download Model"):
        MILSLocalLLM().load("(use hub_id below)", "Qwen/Qwen2.5-1.5B-Instruct", "auto", "cpu", True)
    with pytest.raises(InputError, match="source.*laion/CLIP-ViT-B-32-laion2B-s34B-b79K"):
        MILSScorerLoader().load("(use source below)", "open_clip", "ViT-B-32:laion2b_s34b_b79k", "auto", "cpu", True)
    with pytest.raises(InputError, match="source.*timm/ViT-B-16-SigLIP"):
        MILSScorerLoader().load("(use source below)", "auto", "open_clip:hf-hub:timm/ViT-B-16-SigLIP", "auto", "cpu",
                                True)


def test_scorer_dropdown_leaves_out_gram_features(models_dir):
    vgg = models_dir / "mils" / "vgg19"
    vgg.mkdir(parents=True)
    (vgg / "config.json").write_text('{"architecture": "vgg19"}')
    choices = MILSScorerLoader.INPUT_TYPES()["required"]["model"][0]
    assert "tiny-clip" in choices and "vgg19" not in choices
