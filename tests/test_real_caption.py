"""End to end on real weights: SmolLM2-135M-Instruct proposes, EfficientNet-Lite0 x MiniLM scores.

Marked `real` (about a minute on 2 CPU cores); tests/run.sh and CI run it.
"""
import json

import pytest

from devkit.real_models import photo, smollm2_gguf_path, stand_in_encoder
from mils.cli import main
from mils.pools import load_pool

pytestmark = pytest.mark.real


def test_cli_caption_with_smollm2_beats_the_best_starting_caption(tmp_path, capsys):
    from PIL import Image

    gguf = smollm2_gguf_path()
    img = (photo("chelsea")[0].numpy() * 255).astype("uint8")
    path = tmp_path / "chelsea.png"
    Image.fromarray(img).save(path)
    pool = tmp_path / "pool.txt"
    pool.write_text("\n".join(load_pool("image", limit=300, seed=1)))

    rc = main(["caption", str(path), "--llm", gguf, "--scorer", "py:devkit.real_models:stand_in_encoder",
               "--pool", str(pool), "--keep", "8", "--new", "8", "--steps", "4", "--max-new-tokens", "200",
               "--temperature", "0.8", "--seed", "0", "--json", "--quiet"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    start_best = out["history"][0]["best_score"]
    print("start:", start_best, out["history"][0]["leaderboard"][0]["text"])
    print("end:  ", out["best_score"], out["best_text"], "curve", [h["best_score"] for h in out["history"]])
    assert out["llm_calls"] >= 4
    assert out["best_score"] > start_best, "the search must beat the best starting caption"
    # the winner was written by the LLM, not picked from the pool
    assert out["best"]["step"] > 0
    # and it is about a cat: the stand-in scorer's ImageNet classes for this photo are cats
    enc = stand_in_encoder()
    s = enc.encode_text([out["best_text"], "a red sports car on a road"]) @ enc.encode_image(photo("chelsea"))[0]
    assert float(s[0]) > float(s[1])
