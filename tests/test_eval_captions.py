"""`mils eval captions`: metrics equal a direct pycocoevalcap call; baseline from step 0; clear errors."""
import csv
import json
import shutil
from pathlib import Path

import pytest

from mils.cli import main
from mils.errors import InputError
from mils.evaluation import (
    BASELINE_ROW,
    MILS_ROW,
    evaluate_captions,
    java_available,
    load_caption_results,
    load_references,
    simple_tokenize,
)

pytest.importorskip("pycocoevalcap")
from pycocoevalcap.bleu.bleu import Bleu  # noqa: E402
from pycocoevalcap.cider.cider import Cider  # noqa: E402
from pycocoevalcap.rouge.rouge import Rouge  # noqa: E402

DATA = Path(__file__).parent / "data" / "eval"
RESULTS, REFS, IMAGES = DATA / "results", DATA / "refs_coco.json", DATA / "images"
NAMES = ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg"]
needs_java = pytest.mark.skipif(not java_available(), reason="METEOR and PTBTokenizer need Java (default-jre-headless)")


def _coco_refs() -> dict[str, list[str]]:
    coco = json.loads(REFS.read_text())
    names = {im["id"]: im["file_name"] for im in coco["images"]}
    refs: dict[str, list[str]] = {}
    for ann in coco["annotations"]:
        refs.setdefault(names[ann["image_id"]], []).append(ann["caption"])
    return refs


def _best_and_step0() -> tuple[dict[str, str], dict[str, str]]:
    best, step0 = {}, {}
    for name in NAMES:
        d = json.loads((RESULTS / (name + ".mils.json")).read_text())
        best[name] = d["best_text"]
        step0[name] = d["history"][0]["leaderboard"][0]["text"]
    return best, step0


def _direct(gts: dict[str, list[str]], res: dict[str, list[str]], meteor: bool = False) -> dict[str, float]:
    bleu = Bleu(4).compute_score(gts, res, verbose=0)[0]
    out = {f"BLEU-{i}": b for i, b in enumerate(bleu, 1)}
    out["ROUGE-L"] = Rouge().compute_score(gts, res)[0]
    out["CIDEr"] = Cider().compute_score(gts, res)[0]
    if meteor:
        from pycocoevalcap.meteor.meteor import Meteor

        out["METEOR"] = Meteor().compute_score(gts, res)[0]
    return out


def _assert_same(row: dict, expected: dict) -> None:
    for metric, value in expected.items():
        assert row[metric] == pytest.approx(value, rel=1e-9, abs=1e-12), metric


def test_metrics_equal_pycocoevalcap_without_java():
    report = evaluate_captions(RESULTS, REFS, java=False)
    refs = {k: [simple_tokenize(c) for c in v] for k, v in _coco_refs().items()}
    best, step0 = _best_and_step0()
    _assert_same(report.metrics[MILS_ROW], _direct(refs, {k: [simple_tokenize(v)] for k, v in best.items()}))
    _assert_same(report.metrics[BASELINE_ROW], _direct(refs, {k: [simple_tokenize(v)] for k, v in step0.items()}))
    assert report.metrics[MILS_ROW]["METEOR"] is None and "Java" in report.unavailable["METEOR"]
    assert report.metrics[MILS_ROW]["SPICE"] is None and "SPICE" in report.unavailable
    assert "no Java" in report.tokenizer
    assert sorted(report.evaluated) == NAMES and report.missing_references == []


@needs_java
def test_metrics_equal_pycocoevalcap_with_java_and_meteor():
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    report = evaluate_captions(RESULTS, REFS, spice=False)
    best, step0 = _best_and_step0()
    tok = PTBTokenizer()
    gts = tok.tokenize({k: [{"caption": c} for c in v] for k, v in _coco_refs().items()})
    res = tok.tokenize({k: [{"caption": v}] for k, v in best.items()})
    _assert_same(report.metrics[MILS_ROW], _direct(gts, res, meteor=True))
    assert report.tokenizer.startswith("PTBTokenizer")
    assert report.unavailable["SPICE"].startswith("skipped")


def test_baseline_is_the_best_of_step_0_and_the_curve_comes_from_the_histories():
    results = {r.name: r for r in load_caption_results(RESULTS)}
    best, step0 = _best_and_step0()
    assert {k: r.baseline for k, r in results.items()} == step0
    assert {k: r.caption for k, r in results.items()} == best
    report = evaluate_captions(RESULTS, REFS, java=False)
    curves = [json.loads((RESULTS / (n + ".mils.json")).read_text())["history"] for n in NAMES]
    first = [h[0]["best_score"] for h in curves]
    assert report.curve.runs == 4 and report.curve.mean[0] == pytest.approx(sum(first) / 4)
    assert report.curve.min[0] == min(first) and report.curve.max[-1] == max(h[-1]["best_score"] for h in curves)


def test_plain_mappings_and_reference_formats(tmp_path):
    best, _ = _best_and_step0()
    refs = _coco_refs()
    (tmp_path / "caps.json").write_text(json.dumps({f"photos/{k}": v for k, v in best.items()}))
    with (tmp_path / "refs.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "caption"])
        for name, caps in refs.items():
            w.writerows([Path(name).stem + ".png", c] for c in caps)    # matched by stem
    (tmp_path / "refs.jsonl").write_text("\n".join(json.dumps({"file": k, "captions": v}) for k, v in refs.items()))
    (tmp_path / "caps.jsonl").write_text("\n".join(json.dumps({"file": k, "caption": v}) for k, v in best.items()))
    expected = evaluate_captions(RESULTS, REFS, java=False).metrics[MILS_ROW]
    for caps, ref in [("caps.json", "refs.csv"), ("caps.jsonl", "refs.jsonl")]:
        report = evaluate_captions(tmp_path / caps, tmp_path / ref, java=False)
        _assert_same(report.metrics[MILS_ROW], {k: v for k, v in expected.items() if v is not None})
        assert "no search history" in report.unavailable[BASELINE_ROW]
        assert report.curve is None


def test_inputs_without_references_are_listed(tmp_path):
    coco = json.loads(REFS.read_text())
    coco["annotations"] = [a for a in coco["annotations"] if a["image_id"] != 1]     # coffee
    (tmp_path / "refs.json").write_text(json.dumps(coco))
    report = evaluate_captions(RESULTS, tmp_path / "refs.json", java=False)
    assert report.missing_references == ["coffee.jpg"] and len(report.evaluated) == 3


def _error(fn, *args, **kw) -> str:
    with pytest.raises(InputError) as exc:
        fn(*args, **kw)
    return str(exc.value)


def test_bad_inputs_are_clear_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "RESULTS: expected a folder with `mils caption` result files" in _error(load_caption_results, empty)

    broken = tmp_path / "broken"
    shutil.copytree(RESULTS, broken)
    d = json.loads((broken / "coffee.jpg.mils.json").read_text())
    del d["best_text"]
    (broken / "coffee.jpg.mils.json").write_text(json.dumps(d))
    msg = _error(load_caption_results, broken)
    assert "coffee.jpg.mils.json: best_text" in msg and "missing" in msg
    d["best_text"], d["history"][0]["leaderboard"] = "a cup", []
    (broken / "coffee.jpg.mils.json").write_text(json.dumps(d))
    assert "coffee.jpg.mils.json: history[0].leaderboard: expected the scored starting pool" in \
        _error(load_caption_results, broken)

    (tmp_path / "refs.json").write_text(json.dumps([1, 2]))
    assert "refs.json: expected COCO captions JSON" in _error(load_references, tmp_path / "refs.json")
    (tmp_path / "refs.txt").write_text("not json")
    assert "refs.txt: expected a JSON file" in _error(load_references, tmp_path / "refs.txt")
    coco = json.loads(REFS.read_text())
    coco["annotations"][0].pop("caption")
    (tmp_path / "coco.json").write_text(json.dumps(coco))
    assert "coco.json: annotations[0]: expected an object with image_id and caption" in \
        _error(load_references, tmp_path / "coco.json")
    (tmp_path / "other.json").write_text(json.dumps({"dog.jpg": ["a dog"]}))
    assert "--refs: expected references for at least one of the 4 inputs" in \
        _error(evaluate_captions, RESULTS, tmp_path / "other.json", java=False)
    (tmp_path / "refs.csv").write_text("image_name,text\nx.jpg,a dog\n")
    assert "refs.csv:2: expected a file field" in _error(load_references, tmp_path / "refs.csv")


def test_clipscore_needs_an_image_scorer():
    from devkit.toys import text_only_encoder

    assert "--clipscore-scorer: expected an image-text scorer" in \
        _error(evaluate_captions, RESULTS, REFS, java=False, clipscore_encoder=text_only_encoder())


def test_cli_writes_json_markdown_and_png_without_java(tmp_path, capsys, monkeypatch):
    from PIL import Image

    from mils.evaluation import caption_metrics

    monkeypatch.setattr(caption_metrics, "java_available", lambda: False)

    out = tmp_path / "eval"
    rc = main(["eval", "captions", str(RESULTS), "--refs", str(REFS), "--out", str(out), "--no-spice",
               "--clipscore-scorer", "py:devkit.toys:toy_encoder", "--media", str(IMAGES)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "| Method | BLEU-4 | METEOR | CIDEr | SPICE |" in printed and f"| {MILS_ROW} |" in printed
    assert "Tokenizer: simple Python tokenizer (no Java)" in printed and "METEOR unavailable: needs Java" in printed
    report = json.loads((out / "eval_captions.json").read_text())
    assert sorted(report["evaluated"]) == NAMES
    assert 0 < report["metrics"][MILS_ROW]["CLIPScore"] <= 2.5
    assert report["metrics"][BASELINE_ROW]["CLIPScore"] is not None
    assert "not an independent judge" in report["notes"][0]     # the toy encoder optimised these results
    assert (out / "eval_captions.md").read_text().startswith("# Caption evaluation")
    assert Image.open(out / "eval_captions.png").size[0] > 100


def test_clipscore_names_a_missing_media_file(tmp_path):
    from devkit.toys import toy_encoder

    moved = tmp_path / "results"
    shutil.copytree(RESULTS, moved)
    d = json.loads((moved / "rocket.jpg.mils.json").read_text())
    d["input"] = "/nowhere/rocket.jpg"
    (moved / "rocket.jpg.mils.json").write_text(json.dumps(d))
    msg = _error(evaluate_captions, moved, REFS, java=False, clipscore_encoder=toy_encoder())
    assert "rocket.jpg.mils.json: input: expected the media file the caption was made from" in msg
    report = evaluate_captions(moved, REFS, java=False, clipscore_encoder=toy_encoder(), media_dir=IMAGES)
    assert len([r for r in report.per_input if "clipscore" in r]) == 4


def test_cli_bad_refs_is_exit_2(tmp_path, capsys):
    (tmp_path / "refs.json").write_text("{}")
    assert main(["eval", "captions", str(RESULTS), "--refs", str(tmp_path / "refs.json")]) == 2
    assert "refs.json: expected COCO captions JSON" in capsys.readouterr().err


def test_readme_example_runs_as_written(monkeypatch, capsys):
    readme = (DATA.parents[2] / "README.md").read_text()
    section = readme.split("## Evaluate", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(DATA.parents[2])
    exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - runs the README's own example
    printed = capsys.readouterr().out
    assert f"{MILS_ROW}: CIDEr 7.4" in printed and f"{BASELINE_ROW}: CIDEr 23.7" in printed
