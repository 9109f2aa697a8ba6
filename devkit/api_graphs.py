"""API-format graphs the ComfyUI tests and benches queue: the tiny LLM and scorer, a caption graph, a
prompt-enhancement graph feeding the stock sampler."""
from __future__ import annotations

from devkit.comfy_server import CKPT_NAME, LLM_NAME, SCORER_NAME

def loaders(llm_id: str = "2", scorer_id: str = "3") -> dict:
    return {
        llm_id: {"class_type": "MILSLocalLLM", "inputs": {"model": LLM_NAME, "hub_id": "", "dtype": "auto",
                                                           "device": "cpu", "keep_loaded": True}},
        scorer_id: {"class_type": "MILSScorerLoader", "inputs": {"model": SCORER_NAME, "kind": "auto", "source": "",
                                                                  "dtype": "auto", "device": "cpu", "keep_loaded": True}},
    }


def loop_inputs(**kw) -> dict:
    inputs = {"llm": ["2", 0], "scorer": ["3", 0], "task": "image_caption", "budget": "preview", "keep": 3,
              "new_per_step": 3, "steps": 2, "parallel": 0, "patience": 0, "seed": 1, "resume": True}
    inputs.update(kw)
    return inputs


def caption_graph(*, seed: int = 1, steps: int = 2, initial: str = "", save_curve: bool = True, **loop_kw) -> dict:
    """EmptyImage (a red square) -> MILSLoop(image_caption) with the tiny LLM and scorer; the score curve
    goes to SaveImage and the best text to PreviewAny."""
    g = {"1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0xCC2222}}}
    g.update(loaders())
    g["4"] = {"class_type": "MILSLoop", "inputs": loop_inputs(seed=seed, steps=steps, image=["1", 0],
                                                              initial=initial, **loop_kw)}
    if save_curve:
        g["5"] = {"class_type": "SaveImage", "inputs": {"images": ["4", 4], "filename_prefix": "mils_curve"}}
        g["6"] = {"class_type": "PreviewAny", "inputs": {"source": ["4", 0]}}
    return g


STEER_START = "a green field\na blue circle\na yellow house\na tall tree\na red square"


def steered_caption_graph(llm_url: str, **loop) -> dict:
    """A caption Loop (node "4") on an OpenAI-compatible LLM at ``llm_url`` (a fake one in the tests), started
    from five plain candidates, its best text to PreviewAny: the graph the steering tests drive."""
    g = {"1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0xCC2222}}}
    g.update(loaders())
    g["2"] = {"class_type": "MILSOpenAILLM", "inputs": {"base_url": llm_url, "model": "fake", "api_key_env": "",
                                                        "timeout": 30.0, "max_retries": 0,
                                                        "server_honours_seed": False}}
    g["4"] = {"class_type": "MILSLoop", "inputs": loop_inputs(
        image=["1", 0], keep=4, new_per_step=4, seed=3, initial=STEER_START, resume=False, **loop)}
    g["6"] = {"class_type": "PreviewAny", "inputs": {"source": ["4", 0]}}
    return g


def t2i_graph(*, text: str = "a red apple on a table", seed: int = 1, prefix: str = "mils_t2i", keep: int = 2,
              new_per_step: int = 2, steps: int = 1, preview_size: int = 64, render_steps: int = 2,
              render_batch: int = 4, initial: str = "", downstream: bool = True) -> dict:
    """CheckpointLoaderSimple(tiny SD1.5) -> MILSRenderer -> MILSLoop(t2i_enhance) -> best_prompt into the
    stock CLIPTextEncode -> KSampler -> VAEDecode -> SaveImage, and the conditioning output into a second KSampler."""
    g = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": CKPT_NAME}}}
    g.update(loaders())
    g["15"] = {"class_type": "MILSRenderer", "inputs": {
        "model": ["1", 0], "clip": ["1", 1], "vae": ["1", 2], "sampler_name": "euler", "scheduler": "normal",
        "steps": render_steps, "cfg": 7.0, "width": preview_size, "height": preview_size, "negative": "",
        "batch": render_batch}}
    g["4"] = {"class_type": "MILSLoop", "inputs": loop_inputs(
        task="t2i_enhance", keep=keep, new_per_step=new_per_step, steps=steps, seed=seed, text=text, initial=initial,
        renderer=["15", 0])}
    if not downstream:
        g["14"] = {"class_type": "PreviewAny", "inputs": {"source": ["4", 0]}}
        return g
    sampler = {"seed": 0, "steps": 2, "cfg": 7.0, "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0,
               "model": ["1", 0], "negative": ["6", 0], "latent_image": ["7", 0]}
    g.update({
        "5": {"class_type": "CLIPTextEncode", "inputs": {"text": ["4", 0], "clip": ["1", 1]}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["1", 1]}},
        "7": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "8": {"class_type": "KSampler", "inputs": dict(sampler, positive=["5", 0])},
        "9": {"class_type": "VAEDecode", "inputs": {"samples": ["8", 0], "vae": ["1", 2]}},
        "10": {"class_type": "SaveImage", "inputs": {"images": ["9", 0], "filename_prefix": prefix}},
        "11": {"class_type": "KSampler", "inputs": dict(sampler, positive=["4", 5])},
        "12": {"class_type": "VAEDecode", "inputs": {"samples": ["11", 0], "vae": ["1", 2]}},
        "13": {"class_type": "SaveImage", "inputs": {"images": ["12", 0], "filename_prefix": prefix + "_cond"}},
    })
    return g
