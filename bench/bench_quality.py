"""Quality at equal wall time: P=4 parallel replies vs P=1 under the same time budget per search.

For each real photo (skimage: coffee, chelsea, rocket, astronaut, motorcycle, hubble_deep_field) one
caption search per mode, SmolLM2-135M-Instruct GGUF through transformers proposing, the
EfficientNet-Lite0 x MiniLM stand-in scoring; both modes have the same N, pool, seed and budget, and
the baseline (P=1) runs in this same run. Counted from each search's history: how often the search
beats the best starting caption (its step 0), the mean gain over it, the rounds done.

Run: python -m bench.bench_quality [BUDGET_SECONDS]   (default 15 s per search: about 3.5 min on 2 cores)
"""
import sys

from ._common import report

BUDGET_S = 15.0
PARALLEL = 4


def main(budget_s: float = BUDGET_S) -> None:
    from devkit.quality import QUALITY_PHOTOS, beats_start, equal_time_runs, summarise
    from devkit.real_models import smollm2_gguf_path, stand_in_encoder
    from mils.generators.transformers_lm import load_transformers_generator

    llm = load_transformers_generator(smollm2_gguf_path(), device="cpu")
    runs = equal_time_runs(llm, stand_in_encoder(), QUALITY_PHOTOS, (1, PARALLEL), budget_s=budget_s)
    for r in runs:
        res = r.result
        print(f"  {r.photo:<18} P={r.parallel}: {r.rounds} rounds in {res.seconds_total:.1f} s, start best "
              f"{r.start_best:.4f} -> {res.best_score:.4f} ({'beats' if beats_start(res) else 'does not beat'} "
              f"the start) {res.best_text!r}", flush=True)
    by_p = summarise(runs)
    base, par = by_p[1], by_p[PARALLEL]
    n = len(base.runs)
    report(f"P={PARALLEL} vs P=1 at equal wall time ({budget_s:g} s per search), searches beating the best "
           "starting caption", par.wins / max(1, base.wins), "higher is better",
           f"{par.wins} vs {base.wins} of {n} photos")
    report(f"P={PARALLEL} vs P=1 at equal wall time, rounds per search", par.mean_rounds / max(1e-9, base.mean_rounds),
           "higher is better", f"{par.mean_rounds:.1f} vs {base.mean_rounds:.1f} rounds, {par.new_candidates} vs "
           f"{base.new_candidates} new candidates scored")
    print(f"mean gain over the best starting caption: P={PARALLEL} {par.mean_gain:+.4f}, P=1 {base.mean_gain:+.4f}",
          flush=True)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else BUDGET_S)
