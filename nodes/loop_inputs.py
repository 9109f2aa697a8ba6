"""The MILS Loop's sockets turned into jobs: which task, which media, one job per image of a batch."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch

from mils import pools
from mils.jobs import Job
from mils.media import Media
from .common import image_input, node_error, split_lines
from .scorer import build_target, target_media

TASK_CHOICES = ["auto", "image_caption", "video_caption", "audio_caption", "t2i_enhance", "style_transfer", "invert"]
TASK_TOOLTIP = ("auto picks from what is connected, in this order: MILS Gram Style -> style_transfer; a target -> "
                "invert; a renderer -> t2i_enhance (your prompt in 'text'); a VIDEO -> video_caption; AUDIO -> "
                "audio_caption; an IMAGE -> image_caption, one caption per image of the batch; only a text -> invert. "
                "Choose video_caption to read an IMAGE batch as the frames of one video (as VideoHelperSuite's "
                "loaders give them).")


@dataclass
class LoopInputs:
    """Every optional socket of the Loop, by name (the names errors refer to)."""

    scorer: Any = None
    style_scorer: Any = None
    renderer: Any = None
    image: Any = None
    video: Any = None
    audio: Any = None
    target: Any = None
    text: str = ""
    initial: str = ""


# task auto: the first connected socket of this list decides
AUTO_TASKS = [("style_scorer", "style_transfer"), ("target", "invert"), ("renderer", "t2i_enhance"),
              ("video", "video_caption"), ("audio", "audio_caption"), ("image", "image_caption")]


def pick_task(task: str, given: LoopInputs) -> str:
    if task != "auto":
        return task
    for socket, name in AUTO_TASKS:
        if getattr(given, socket) is not None:
            return name
    if given.text.strip():
        return "invert"
    raise node_error("image", "something to work on: connect an IMAGE, VIDEO or AUDIO to caption, or a renderer "
                              "and write your prompt in 'text', or a target to invert")


def pool_from_initial(initial: str):
    """The 'initial' widget: a pool name, or the user's own lines, or empty for the task's pool."""
    lines = split_lines(initial)
    if len(lines) == 1 and lines[0].lower() in pools.pool_names():
        return lines[0].lower()
    return lines or None


def video_frames(video) -> torch.Tensor:
    """The frames of ComfyUI's VIDEO (core Load Video): ``get_components().images``, (T, H, W, 3)."""
    get = getattr(video, "get_components", None)
    if get is None:
        raise node_error("video", f"a VIDEO (from Load Video), not {type(video).__name__}")
    try:
        frames = get().images
    except Exception as exc:  # a file that cannot be decoded: name the input, keep the server up
        raise node_error("video", f"a video that can be decoded ({exc})") from exc
    return image_input(frames, "video")


def caption_media(task_name: str, given: LoopInputs) -> list[Media]:
    """What to caption: one Media per search (an image batch gives one search per image)."""
    if given.target is not None:
        raise node_error("target", f"task invert (or auto) when a target embedding is connected, not {task_name}")
    if task_name == "audio_caption":
        if given.audio is None:
            raise node_error("audio", "an AUDIO to caption for task audio_caption")
        return [target_media(audio=given.audio)]
    if task_name == "video_caption":
        if given.video is not None and given.image is not None:
            raise node_error("video", "one video: connect a VIDEO or an IMAGE batch of frames, not both")
        if given.video is not None:
            return [Media("video", images=video_frames(given.video))]
        if given.image is None:
            raise node_error("video", "a VIDEO, or an IMAGE batch of its frames, for task video_caption")
        return [Media("video", images=image_input(given.image))]
    if given.image is None:
        raise node_error("image", f"an IMAGE to caption for task {task_name}")
    images = image_input(given.image)
    return [Media("image", images=images[i:i + 1]) for i in range(images.shape[0])]


def fill_jobs(base: Job, given: LoopInputs) -> list[Job]:
    """``base`` (generator, budget, seed) completed from the sockets; several jobs for an image batch."""
    name = base.task
    if name == "style_transfer":
        return [_style_transfer(base, given)]
    if given.scorer is None:
        raise node_error("scorer", f"a scorer (MILS Scorer Loader) for task {name}")
    base.scorer_model = given.scorer.use()
    if name == "t2i_enhance":
        if not given.text.strip():
            raise node_error("text", "your prompt: prompt enhancement starts from it and scores renders against it")
        base.prompt = given.text
        base.renderer = _renderer(given.renderer, name)
        base.pool = split_lines(given.initial)
        return [base]
    base.pool = pool_from_initial(given.initial)
    if name == "invert":
        base.target = (given.target if given.target is not None
                       else build_target(base.scorer_model, given.image, given.audio, given.text))
        return [base]
    media = caption_media(name, given)
    return [replace(base, media=m) for m in media]


def _style_transfer(job: Job, given: LoopInputs) -> Job:
    style = given.style_scorer
    if style is None:
        raise node_error("style_scorer", "MILS Gram Style for task style_transfer")
    settings = given.renderer
    if settings is None:
        raise node_error("renderer", "a MILS Renderer: style transfer applies every edit to the photo with your MODEL")
    if settings.content_image is None:
        if style.content_image is None:
            raise node_error("content_image", "the photo to restyle, on MILS Renderer or on MILS Gram Style")
        settings = settings.with_content(style.content_image)
    job.style = style.use()  # its targets are already encoded
    job.renderer = settings.build()
    job.pool = pool_from_initial(given.initial)
    return job


def _renderer(settings, task_name: str):
    if settings is None:
        raise node_error("renderer", f"a MILS Renderer (your MODEL, CLIP and VAE) for task {task_name}: every "
                                     "candidate is rendered and the picture scored")
    return settings.build()
