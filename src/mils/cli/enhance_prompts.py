"""`mils enhance --prompts FILE`: every prompt of a file, each in its own folder <out>/<number>-<slug>/.

The prompts run in lockstep batches of --batch (mils.batch: one batched LLM call per round for the
batch, the new candidates of all its searches rendered together on the one pipeline), on this machine
or, with --ray, on workers. Each prompt's search state is saved in its folder after every round
(``STATE_FILE``): a prompt that fails (LLM outage, interrupt, a lost worker) keeps its best so far
there and in result.json, and a rerun (or the worker it is resubmitted to) resumes it at its last
finished round. A failing prompt fails alone and is named in the summary; finished prompts are
skipped, and never rewritten.
"""
from __future__ import annotations

import logging
from pathlib import Path

from ..batch import ItemResult
from ..errors import InputError
from .dataset import CliDataset, check_batch, check_dataset_args, run_dataset, run_options
from .enhance_outputs import ENHANCE_FILES, EnhanceModels, enhance_job, enhance_outputs, load_models, write_enhance
from .models import load_generator
from .options import check_render_args
from .output import slug

STATE_FILE = "mils.state.json"

log = logging.getLogger(__name__)

Item = tuple[int, str]   # (number in the file, from 1; the prompt)


def prompt_dir(out_dir: Path, number: int, prompt: str) -> Path:
    return out_dir / f"{number:04d}-{slug(prompt)}"


def enhance_options(args) -> dict:
    render = ("pipeline", "preview_steps", "final_steps", "guidance", "negative", "render_seed", "render_batch")
    return run_options(args, {"preview_size": list(args.preview_size), "final_size": list(args.final_size),
                              **{k: getattr(args, k) for k in render}})


class PromptsDataset(CliDataset):
    """The prompts of a file: a prompt's files in its folder, its round state there too. The LLM, the pipeline
    and the scorer are loaded once where the prompts run (here, or on each Ray worker)."""

    noun = "prompt"

    def __init__(self, args, out_dir: Path):
        self.args, self.out_dir, self.quiet = args, out_dir, args.quiet
        self.models: tuple | None = None

    def __getstate__(self):
        return {**self.__dict__, "models": None}   # the workers load their own

    def folder(self, item: Item) -> Path:
        return prompt_dir(self.out_dir, *item)

    def result_path(self, item: Item) -> Path:
        return self.folder(item) / ENHANCE_FILES["result"]

    def state_path(self, item: Item) -> Path:
        return self.folder(item) / STATE_FILE

    def name(self, item: Item) -> str:
        return self.folder(item).name

    def options(self) -> dict:
        return enhance_options(self.args)

    def _models(self) -> tuple[EnhanceModels, object]:
        # no pipeline, scorer or LLM: every prompt would fail the same way, so that stops the run
        if self.models is None:
            self.models = (load_models(self.args), load_generator(self.args, "t2i_enhance"))
        return self.models

    def job(self, item: Item, loaded):
        models, generator = self._models()
        return enhance_job(self.args, item[1], generator, models)

    def result(self, item: Item, done) -> ItemResult:
        payload, files, text = enhance_outputs(self.args, done, self.folder(item), self._models()[0],
                                               extra={"number": item[0], "options": self.options()})
        return ItemResult(payload, files, text)

    def write(self, item: Item, result: ItemResult) -> None:
        write_enhance(self.folder(item), result.payload, result.files)


def _check_prompts_args(args) -> tuple[list[Item], Path, int]:
    from ..distributed.manifest import read_prompts

    check_dataset_args(args)
    if args.prompts is None:
        raise InputError("--ray", "--prompts FILE: the prompts to spread over workers")
    if args.prompt is not None:
        raise InputError("--prompts", "either a prompt or --prompts FILE, not both", repr(args.prompt))
    if args.pool:
        raise InputError("--pool", "no pool: enhance starts from the prompt itself", repr(args.pool))
    size = check_batch(args, "prompt")
    check_render_args(args)
    items = list(enumerate(read_prompts(args.prompts), 1))
    return items, args.out or Path.cwd() / f"mils-enhance-{args.prompts.stem}", size


def run_prompts(args) -> int:
    """`mils enhance --prompts FILE [--ray]`: each prompt's files in its own subfolder; finished ones skipped."""
    items, out_dir, size = _check_prompts_args(args)
    return run_dataset(args, PromptsDataset(args, out_dir), items, out_dir, size, "prompt")
