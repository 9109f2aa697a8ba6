import numpy as np
import pytest
import torch
from PIL import Image

from devkit.toys import ColourWordsEncoder, HashingEncoder
from mils import targets
from mils.errors import InputError
from mils.media import load_audio, load_image, load_video, media_kind


def test_rgba_is_composited_on_white_and_grey_becomes_rgb(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255          # red, but fully transparent on the left half
    rgba[:, 2:, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    img = load_image(tmp_path / "a.png")
    assert img.shape == (1, 4, 4, 3)
    assert torch.allclose(img[0, 0, 0], torch.ones(3))                # transparent -> white
    assert torch.allclose(img[0, 0, 3], torch.tensor([1.0, 0, 0]))    # opaque red stays red
    Image.fromarray(np.full((5, 6), 128, np.uint8), "L").save(tmp_path / "g.png")
    g = load_image(tmp_path / "g.png")
    assert g.shape == (1, 5, 6, 3) and torch.allclose(g[..., 0], g[..., 2])


def test_tiny_and_broken_images_are_clear_errors(tmp_path):
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(tmp_path / "dot.png")
    with pytest.raises(InputError, match=r"image: expected an image of at least 2x2 pixels, got 1x1"):
        load_image(tmp_path / "dot.png")
    (tmp_path / "bad.jpg").write_bytes(b"\x00garbage")
    with pytest.raises(InputError, match="image: expected a readable image file"):
        load_image(tmp_path / "bad.jpg")
    with pytest.raises(InputError, match="image: expected an existing file"):
        load_image(tmp_path / "missing.jpg")


def test_audio_file_loads_as_b_c_t(tmp_path):
    import soundfile as sf

    sr = 16000
    wave = 0.3 * np.sin(np.linspace(0, 440 * 2 * np.pi, sr)).astype(np.float32)
    sf.write(tmp_path / "tone.wav", np.stack([wave, wave], 1), sr)
    wav, rate = load_audio(tmp_path / "tone.wav")
    assert rate == sr and wav.shape == (1, 2, sr)
    assert float(wav.abs().max()) == pytest.approx(0.3, abs=1e-3)


def test_empty_audio_is_a_clear_error(tmp_path):
    import soundfile as sf

    sf.write(tmp_path / "empty.wav", np.zeros((0, 1), np.float32), 16000)
    with pytest.raises(InputError, match="audio: expected audio with at least one sample"):
        load_audio(tmp_path / "empty.wav")


def test_video_frames_are_sampled_uniformly(tmp_path):
    import av

    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(20):
            arr = np.full((32, 32, 3), i * 12, np.uint8)
            for pkt in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                out.mux(pkt)
        for pkt in stream.encode():
            out.mux(pkt)
    frames = load_video(path, num_frames=4)
    assert frames.shape == (4, 32, 32, 3)
    brightness = frames.mean((1, 2, 3)).tolist()
    assert brightness == sorted(brightness) and brightness[0] < 0.1 and brightness[-1] > 0.8


def test_media_kind():
    assert [media_kind(p) for p in ("a.JPG", "b.mp4", "c.flac")] == ["image", "video", "audio"]
    with pytest.raises(InputError, match="input"):
        media_kind("notes.txt")


def test_targets_check_the_scorer_can_embed_the_medium():
    with pytest.raises(InputError, match="does not embed audio"):
        targets.audio_target(HashingEncoder(), torch.ones(1, 1, 10), 16000)
    with pytest.raises(InputError, match="does not embed image"):
        targets.image_target(HashingEncoder(), torch.ones(1, 4, 4, 3))


def test_video_target_pools_frames():
    enc = ColourWordsEncoder()
    red = torch.zeros(10, 4, 4, 3)
    red[..., 0] = 0.9
    v = targets.video_target(enc, red, num_frames=3)
    assert torch.allclose(v, targets.image_target(enc, red[:1]), atol=1e-6)
    assert targets.uniform_frames(torch.arange(10).view(10, 1, 1, 1).float(), 3).flatten().tolist() == [0, 4, 9]


def test_combine_normalises_and_refuses_cancelling_terms():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    c = targets.combine([(1.0, a), (1.0, b)])
    assert torch.allclose(c, torch.tensor([0.7071, 0.7071]), atol=1e-4)
    with pytest.raises(InputError, match="cancel out"):
        targets.combine([(1.0, a), (-1.0, a)])
    with pytest.raises(InputError, match="same size"):
        targets.combine([(1.0, a), (1.0, torch.ones(3))])
    with pytest.raises(InputError, match="text"):
        targets.text_target(HashingEncoder(), "  ")
