"""What the subcommands print: a progress bar over the rounds and a short summary of a result."""
from __future__ import annotations

import re
import sys


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
    lines.append("  best per round: " + " ".join(f"{s:.4f}" for s in res.curve()))
    for i, s in enumerate(res.leaderboard[:5], 1):
        lines.append(f"  {i}. {s.score:.4f}  {s.text}")
    return "\n".join(lines)


def slug(text: str, limit: int = 40) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:limit].rstrip("-") or "prompt"
