"""Evaluation: the paper's caption metrics on your own data, and prompt enhancement under an independent judge.

    from mils.evaluation import evaluate_captions, evaluate_enhance
    report = evaluate_captions("results/", "refs.json")          # -> CaptionReport
    report.metrics["MILS (best)"]["CIDEr"]
"""
from .caption_metrics import METRICS, MetricScores, compute_caption_metrics, java_available, simple_tokenize
from .captions import BASELINE_ROW, MILS_ROW, CaptionReport, CurveStats, evaluate_captions
from .clipscore import CLIPSCORE_WEIGHT, clip_scores
from .enhance_judge import EnhanceReport, EnhanceRun, bootstrap_ci, evaluate_enhance, find_enhance_runs
from .references import References, load_references
from .report import caption_markdown, caption_picture, enhance_markdown
from .results import CaptionResult, load_caption_results

__all__ = ["BASELINE_ROW", "CLIPSCORE_WEIGHT", "METRICS", "MILS_ROW", "CaptionReport", "CaptionResult", "CurveStats",
           "EnhanceReport", "EnhanceRun", "MetricScores", "References", "bootstrap_ci", "caption_markdown",
           "caption_picture", "clip_scores", "compute_caption_metrics", "enhance_markdown", "evaluate_captions",
           "evaluate_enhance", "find_enhance_runs", "java_available", "load_caption_results", "load_references",
           "simple_tokenize"]
