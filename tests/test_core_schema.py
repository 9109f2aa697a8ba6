"""The core-node schema check run against every ComfyUI (tests/comfyui/test_workflows_run.py): what a newer
ComfyUI adds passes, what the example workflows rely on may not change. No ComfyUI needed."""
import copy

import pytest

from devkit.core_schema import compat_problems
from test_workflows import core_data

STORED = core_data()["nodes"]


def live(class_type: str) -> dict:
    return copy.deepcopy(STORED[class_type])


def test_each_stored_node_fits_itself():
    assert all(compat_problems(t, e, copy.deepcopy(e)) == [] for t, e in STORED.items())


def test_what_newer_versions_add_passes():
    # ComfyUI v0.28 gave SaveImage and PreviewImage outputs, PreviewAny one more, GetVideoComponents one more
    save = live("SaveImage")
    save.update(output=["IMAGE"], output_name=["images"], output_is_list=[False])
    gvc = live("GetVideoComponents")
    gvc["output"] = gvc["output"] + ["VIDEO_INFO"]
    gvc["output_name"] = gvc["output_name"] + ["info"]
    gvc["output_is_list"] = gvc["output_is_list"] + [False]
    ks = live("KSampler")
    ks["input"]["required"]["sampler_name"][0] = ks["input"]["required"]["sampler_name"][0] + ["a_new_sampler"]
    ks["input"]["optional"] = {"new_option": ["FLOAT", {"default": 0.0}]}
    ks["input_order"]["optional"] = ["new_option"]
    ks["input"]["required"]["steps"][1]["max"] = 10 ** 6
    ks["input"]["required"]["cfg"][1]["default"] = 4.5
    # V3 nodes list a combo as ["COMBO", {"options": [...]}]
    empty = live("EmptyLatentImage")
    assert compat_problems("SaveImage", STORED["SaveImage"], save) == []
    assert compat_problems("GetVideoComponents", STORED["GetVideoComponents"], gvc) == []
    assert compat_problems("KSampler", STORED["KSampler"], ks) == []
    assert compat_problems("EmptyLatentImage", STORED["EmptyLatentImage"], empty) == []
    v3 = live("KSampler")
    v3["input"]["required"]["scheduler"] = ["COMBO", {"options": STORED["KSampler"]["input"]["required"]["scheduler"][0]}]
    assert compat_problems("KSampler", STORED["KSampler"], v3) == []


def removed_input(e):
    del e["input"]["required"]["seed"]
    e["input_order"]["required"].remove("seed")


def changed_type(e):
    e["input"]["required"]["model"][0] = "MODEL_V2"


def removed_output(e):
    e["output"], e["output_name"], e["output_is_list"] = [], [], []


def changed_output_type(e):
    e["output"] = ["LATENT_V2"]


def new_required_input(e):
    e["input"]["required"]["flavour"] = ["STRING", {"default": ""}]
    e["input_order"]["required"].append("flavour")


def removed_combo_option(e):
    e["input"]["required"]["sampler_name"][0] = [s for s in e["input"]["required"]["sampler_name"][0] if s != "euler"]


def moved_widget(e):
    order = e["input_order"]["required"]
    order.insert(order.index("steps"), "a_new_widget")
    e["input"]["required"]["a_new_widget"] = ["INT", {"default": 1}]
    e["input_order"]["optional"] = []


def narrower_range(e):
    e["input"]["required"]["steps"][1]["max"] = 5


@pytest.mark.parametrize("change, expected", [
    (removed_input, "seed: input removed"), (changed_type, "model: type changed from MODEL to MODEL_V2"),
    (removed_output, "output changed"), (changed_output_type, "output changed"),
    (new_required_input, "flavour: new required input"), (removed_combo_option, "combo options removed"),
    (moved_widget, "widgets moved"), (narrower_range, "max went down"),
])
def test_what_our_workflows_rely_on_fails(change, expected):
    entry = live("KSampler")
    change(entry)
    problems = compat_problems("KSampler", STORED["KSampler"], entry)
    assert problems and any(expected in p for p in problems), problems


def test_an_output_node_that_stops_being_one_fails():
    entry = live("SaveImage")
    entry["output_node"] = False
    assert compat_problems("SaveImage", STORED["SaveImage"], entry)
