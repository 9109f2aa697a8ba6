"""What the subcommands print (a progress bar over the rounds, a short summary of a result), their exit codes,
and the resumable state of a single-input run.

Exit codes: 0 done; 1 some inputs of a batch failed; 2 bad input or a failure before the search began;
``EXIT_STOPPED`` (3) the search stopped on an LLM or scorer failure: the best so far is printed (and written
with --out), marked ``"stopped": "error"`` with the error text, and the same command again resumes at
the last finished round; ``EXIT_INTERRUPTED`` (130) Ctrl-C: the best so far likewise, resumable.

A single-input run (`mils caption FILE`, `invert`, `enhance PROMPT`, `style`) saves its search after every
round in ``<cache>/states/<task>-<identity digest>.json`` (``<cache>``: $MILS_CACHE_DIR, else
$XDG_CACHE_HOME/mils, else ~/.cache/mils; the digest is mils.identity's, so only the same job resumes
from it); a finished run removes it, ``--fresh`` ignores it.
"""
from __future__ import annotations

import logging
import re
import sys
from dataclasses import replace
from pathlib import Path

from ..cache import default_cache_dir
from ..identity import identity_digest, job_identity
from ..jobs import Job, JobResult, run_job
from ..batch import UNFINISHED

log = logging.getLogger(__name__)

EXIT_STOPPED = 3
EXIT_INTERRUPTED = 130


class Progress:
    """A tqdm bar over the rounds that shows the best score and text; a no-op with ``quiet``."""

    def __init__(self, label: str, quiet: bool):
        self.label, self.quiet, self.bar = label, quiet, None

    def __call__(self, rec, total):
        if self.quiet:
            return
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, desc=self.label, unit="round", file=sys.stderr, leave=False)
        else:
            self.bar.update(1)
        self.bar.set_postfix_str(f"best {rec.best_score:.4f}: {rec.leaderboard[0].text[:40]}")

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class BatchProgress(Progress):
    """One bar over the rounds of a lockstep batch: it moves when the furthest search finishes a round."""

    def __init__(self, label: str, quiet: bool):
        super().__init__(label, quiet)
        self.furthest = -1

    def item(self, index, rec, total):
        if rec.step > self.furthest:
            self.furthest = rec.step
            self(rec, total)


def summary(name: str, res) -> str:
    lines = [f"{name}: {res.best_text}", f"  score {res.best_score:.4f} ({res.direction}), stopped: {res.stopped}, "
             f"{res.llm_calls} LLM calls, {res.encodes} text encodes, {res.seconds_total:.1f} s"]
    if res.error:
        lines.append(f"  error: {res.error}")
    if res.resumed_from:
        lines.append(f"  resumed after round {res.resumed_from}")
    lines.append("  best per round: " + " ".join(f"{s:.4f}" for s in res.curve()))
    for i, s in enumerate(res.leaderboard[:5], 1):
        lines.append(f"  {i}. {s.score:.4f}  {s.text}")
    return "\n".join(lines)


def slug(text: str, limit: int = 40) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:limit].rstrip("-") or "prompt"


def add_fresh_arg(p) -> None:
    """--fresh for the single-input commands that have no dataset options."""
    p.add_argument("--fresh", action="store_true", help="start over: ignore the state a stopped run of the same "
                                                        "command left to resume from")


def state_file(job: Job) -> Path:
    """Where a single-input run keeps its search state: the user's cache folder, named by the job's identity."""
    return default_cache_dir() / "states" / f"{job.task}-{identity_digest(job_identity(job))}.json"


def run_resumable(job: Job, *, progress=None, fresh: bool = False) -> JobResult:
    """Run a single-input job that resumes from (and keeps) its state file; a finished run removes the state.
    An LLM or scorer failure, or Ctrl-C, returns the best so far (``stopped`` "error" / "cancelled")."""
    job = replace(job, checkpoint=job.checkpoint or state_file(job), fresh=fresh)
    done = run_job(job, progress=progress, on_error="return")
    if done.result.stopped not in UNFINISHED:
        Path(job.checkpoint).unlink(missing_ok=True)
    return done


def exit_code(res, name: str, kept_in: Path | None = None) -> int:
    """0 for a finished search (a SearchResult, or a result payload); for one stopped early, a note on stderr
    and EXIT_STOPPED / EXIT_INTERRUPTED."""
    stopped, error, rounds = ((res["stopped"], res.get("error"), len(res["history"]) - 1) if isinstance(res, dict)
                              else (res.stopped, res.error, len(res.history) - 1))
    if stopped not in UNFINISHED:
        return 0
    where = f" and kept in {kept_in}" if kept_in is not None else ""
    print(f"mils: {name}: the search stopped at round {rounds} ({error or 'interrupted'}); the best so far is shown"
          f"{where}; run the same command again to resume", file=sys.stderr)
    return EXIT_STOPPED if stopped == "error" else EXIT_INTERRUPTED


def outputs_or_best(make, res, fallback: dict):
    """``make()`` (a stopped search's renders and files); when that fails too (the renderer or scorer that stopped
    the search), the best so far without them: ``fallback`` with the result, no files, the summary."""
    try:
        return make()
    except Exception as exc:
        if res.stopped not in UNFINISHED:
            raise
        log.warning("the files of the best so far could not be made (%s: %s); writing the result only",
                    type(exc).__name__, exc)
        return {**fallback, **res.to_dict()}, {}, summary(fallback.get("task", "mils"), res)
