"""MILS Arithmetic Term and MILS Embedding Arithmetic: any number of terms, lines parsed strictly."""
import pytest
import torch
from mils_pack.nodes.arithmetic import MILSArithmeticTerm, MILSEmbeddingArithmetic, parse_text_terms
from mils_pack.nodes.model_memory import ManagedModel

from devkit.toys import ColourWordsEncoder
from mils.errors import InputError


def scorer():
    return ManagedModel(ColourWordsEncoder, label="toy scorer")


def image(channel):
    img = torch.full((1, 8, 8, 3), 0.05)
    img[..., channel] = 0.9
    return img


def test_lines_parse_into_weights_and_texts():
    assert parse_text_terms("-1 a photo\n+0.5 watercolor\nplain line\n\n# note\n.25 a sketch\n- 2 a map") == [
        (-1.0, "a photo"), (0.5, "watercolor"), (1.0, "plain line"), (0.25, "a sketch"), (-2.0, "a map")]


@pytest.mark.parametrize("bad, line", [("+1 red\n+", 2), ("2x cats", 1), ("+1", 1), ("1.2.3 cats", 1),
                                       ("red\n-1 !!!", 2), ("-- blue", 1)])
def test_an_unparseable_line_is_named_with_the_expected_form(bad, line):
    with pytest.raises(InputError, match=rf"text_terms.*WEIGHT TEXT.*line {line}"):
        parse_text_terms(bad)


class AxisEncoder:
    """Every input on an axis of its own, so a weighted sum is known by hand: an image on the axis of its
    brightest channel (0-2), a sound on axis 3, the texts of TEXTS on theirs."""

    key = "axes"
    modalities = frozenset({"image", "audio"})
    TEXTS = {"light blue": 4, "dark": 5}

    def encode_image(self, images):
        return torch.eye(8)[[int(im.reshape(-1, 3).mean(0).argmax()) for im in images]]

    def encode_audio(self, waveform, sample_rate):
        return torch.eye(8)[[3] * waveform.shape[0]]

    def encode_text(self, texts):
        return torch.eye(8)[[self.TEXTS[t] for t in texts]]


def test_any_number_of_chained_terms_make_the_weighted_target():
    (t,) = MILSArithmeticTerm().add(1.0, image=image(0))
    (t,) = MILSArithmeticTerm().add(-0.5, terms=t, image=image(1))
    (t,) = MILSArithmeticTerm().add(2.0, terms=t, text="light blue")
    (t,) = MILSArithmeticTerm().add(0.25, terms=t, audio={"waveform": torch.zeros(1, 1, 800), "sample_rate": 8000})
    (t,) = MILSArithmeticTerm().add(1.0, terms=t, image=image(2))
    target, recipe = MILSEmbeddingArithmetic().combine(ManagedModel(AxisEncoder, label="axes"), "-1 dark", terms=t)
    assert recipe == "+1 image 1 -0.5 image 2 +2 'light blue' +0.25 audio 1 +1 image 3 -1 'dark'"
    # red +1, green -0.5, blue +1, the sound +0.25, 'light blue' +2, 'dark' -1; then normalised
    weights = torch.tensor([1.0, -0.5, 1.0, 0.25, 2.0, -1.0, 0.0, 0.0])
    assert torch.allclose(target.flatten(), weights / 7.3125 ** 0.5, atol=1e-6)


def test_term_and_arithmetic_errors_name_their_input():
    with pytest.raises(InputError, match="image.*one term"):
        MILSArithmeticTerm().add(1.0)
    with pytest.raises(InputError, match="text.*one term per node"):
        MILSArithmeticTerm().add(1.0, image=image(0), text="red")
    with pytest.raises(InputError, match="audio.*AUDIO"):
        MILSArithmeticTerm().add(1.0, audio=torch.zeros(1, 100))
    with pytest.raises(InputError, match="terms"):
        MILSArithmeticTerm().add(1.0, terms=("not a term",), text="red")
    with pytest.raises(InputError, match="text_terms"):
        MILSEmbeddingArithmetic().combine(scorer(), "  \n# nothing")
    with pytest.raises(InputError, match="cancel out"):
        MILSEmbeddingArithmetic().combine(scorer(), "+1 red wall\n-1 red wall")
    with pytest.raises(InputError, match="text_terms.*line 2"):
        MILSEmbeddingArithmetic().combine(scorer(), "+1 red\n3x blue")
