"""Writing reports: markdown tables (laid out like the paper's Table 1), JSON, and PNG pictures (Pillow only)."""
from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from ..cache import atomic_write_bytes, atomic_write_text
from .caption_metrics import METRICS

PAPER_COLUMNS = ("BLEU-4", "METEOR", "CIDEr", "SPICE")      # the paper's Table 1
FULL_COLUMNS = (*METRICS, "CLIPScore")


def fmt(metric: str, value) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4f}" if metric == "CLIPScore" else f"{100 * value:.1f}"


def markdown_table(metrics: dict[str, dict], columns) -> str:
    cols = [c for c in columns if any(c in row for row in metrics.values())]
    lines = ["| Method | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    lines += [f"| {name} | " + " | ".join(fmt(c, row.get(c)) for c in cols) + " |" for name, row in metrics.items()]
    return "\n".join(lines)


def caption_markdown(report) -> str:
    parts = [f"# Caption evaluation: {len(report.evaluated)} inputs", "",
             "BLEU, METEOR, ROUGE-L, CIDEr and SPICE x100 (pycocoevalcap); CLIPScore = 2.5 * max(cos, 0).", "",
             "## As the paper's Table 1", "", markdown_table(report.metrics, PAPER_COLUMNS), "",
             "## All metrics", "", markdown_table(report.metrics, FULL_COLUMNS), "",
             f"Tokenizer: {report.tokenizer}."]
    if report.clipscore_scorer:
        parts.append(f"CLIPScore scorer: {report.clipscore_scorer}.")
    for name, why in report.unavailable.items():
        parts.append(f"- {name} unavailable: {why}")
    parts += [f"- Note: {note}" for note in report.notes]
    if report.missing_references:
        parts += ["", f"Inputs without references (not scored): {', '.join(report.missing_references)}"]
    if report.curve:
        c = report.curve
        parts += ["", f"Best score per step over {c.runs} runs (mean ± std): "
                  + ", ".join(f"{m:.4f} ± {s:.4f}" for m, s in zip(c.mean, c.std))]
    return "\n".join(parts) + "\n"


def write_json(path: Path, payload: dict) -> None:
    atomic_write_text(path, json.dumps(payload, indent=1) + "\n")


def write_png(path: Path, image: Image.Image) -> None:
    import io

    buf = io.BytesIO()
    image.save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        return ImageFont.load_default()


def curve_picture(curve, size=(560, 340)) -> Image.Image:
    """Mean best score per step with a ± std band (dark) and the min..max range (light)."""
    w, h = size
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = _font(13)
    left, right, top, bottom = 64, 16, 28, 40
    lo, hi = min(curve.min), max(curve.max)
    lo, hi = (lo - 0.5, hi + 0.5) if hi == lo else (lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
    n = len(curve.mean)

    def xy(i, v):
        x = left + (w - left - right) * (i / (n - 1) if n > 1 else 0.5)
        return x, top + (h - top - bottom) * (hi - v) / (hi - lo)

    def band(a, b, fill):
        pts = [xy(i, v) for i, v in enumerate(a)] + [xy(i, v) for i, v in reversed(list(enumerate(b)))]
        draw.polygon(pts, fill=fill)

    band(curve.max, curve.min, (222, 232, 247))
    band([min(m + s, x) for m, s, x in zip(curve.mean, curve.std, curve.max)],    # ± std, inside min..max
         [max(m - s, x) for m, s, x in zip(curve.mean, curve.std, curve.min)], (160, 190, 235))
    draw.line([xy(i, v) for i, v in enumerate(curve.mean)], fill=(20, 60, 160), width=3)
    draw.rectangle([left, top, w - right, h - bottom], outline="black")
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        y = xy(0, v)[1]
        draw.line([left - 4, y, left, y], fill="black")
        draw.text((left - 6, y), f"{v:.3f}", fill="black", font=font, anchor="rm")
    for i in range(n):
        x = xy(i, lo)[0]
        draw.line([x, h - bottom, x, h - bottom + 4], fill="black")
        draw.text((x, h - bottom + 6), str(i), fill="black", font=font, anchor="mt")
    draw.text((w // 2, h - 4), "step (0 = starting pool)", fill="black", font=font, anchor="md")
    title = f"best score per step, {curve.runs} runs: mean, ± std, min..max"
    draw.text((w // 2, 6), title, fill="black", font=font, anchor="mt")
    return img


def table_picture(metrics: dict[str, dict], columns, title: str = "") -> Image.Image:
    cols = [c for c in columns if any(c in row for row in metrics.values())]
    rows = [["Method", *cols]] + [[name, *(fmt(c, r.get(c)) for c in cols)] for name, r in metrics.items()]
    font = _font(13)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    widths = [max(probe.textlength(r[j], font=font) for r in rows) + 16 for j in range(len(cols) + 1)]
    line, pad = 22, 8
    img = Image.new("RGB", (int(sum(widths)) + 2 * pad, (len(rows) + bool(title)) * line + 2 * pad), "white")
    draw = ImageDraw.Draw(img)
    y = pad
    if title:
        draw.text((pad, y), title, fill="black", font=font)
        y += line
    for i, row in enumerate(rows):
        x = pad
        for j, text in enumerate(row):
            draw.text((x + 4 if j == 0 else x + widths[j] - 8, y + 4), text, fill="black", font=font,
                      anchor="la" if j == 0 else "ra")
            x += widths[j]
        if i == 0:
            draw.line([pad, y + line - 2, img.width - pad, y + line - 2], fill="black")
        y += line
    return img


def stack(images: list[Image.Image], gap: int = 8) -> Image.Image:
    out = Image.new("RGB", (max(i.width for i in images), sum(i.height for i in images) + gap * (len(images) - 1)),
                    "white")
    y = 0
    for im in images:
        out.paste(im, (0, y))
        y += im.height + gap
    return out


def caption_picture(report) -> Image.Image:
    parts = [table_picture(report.metrics, FULL_COLUMNS, "caption metrics (x100; CLIPScore as is)")]
    if report.curve:
        parts.insert(0, curve_picture(report.curve))
    return stack(parts)


def pair_sheet(pairs, labels, tile: int = 160,
               title: str = "top: the original prompt's render; below: the best prompt's") -> Image.Image:
    """Columns of (original render above, best render below), each with its label lines under it."""
    font = _font(12)
    line, head = 16, 24
    rows = max(len(lab) for lab in labels) if labels else 0
    col = tile + 12
    img = Image.new("RGB", (max(8 + col * len(pairs), 360), head + 2 * tile + 24 + rows * line + 8), "white")
    draw = ImageDraw.Draw(img)
    draw.text((8, 6), title, fill="black", font=font)
    for i, ((before, after), lab) in enumerate(zip(pairs, labels)):
        x = 8 + i * col
        for j, im in enumerate((before, after)):
            scale = tile / max(im.size)
            im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))))
            img.paste(im, (x + (tile - im.width) // 2, head + j * (tile + 4)))
        for k, text in enumerate(lab):
            draw.text((x + tile // 2, head + 2 * tile + 12 + k * line), text, fill="black", font=font, anchor="mt")
    return img


def enhance_markdown(report) -> str:
    pct = f"{100 * report.confidence:g}%"
    lines = [f"# Prompt enhancement, judged by {report.judge}", "",
             f"The search optimised: {', '.join(report.optimised_by)}. Each run's renders of the original and the "
             "best prompt are scored against the original prompt by the judge.", "",
             "| Runs | Wins | Ties | Losses | Win rate | " + pct + " CI | Mean gain (cos) |",
             "|---:|---:|---:|---:|---:|---:|---:|",
             f"| {report.runs} | {report.wins} | {report.ties} | {report.losses} | {100 * report.win_rate:.1f}% | "
             f"{100 * report.ci[0]:.1f}% .. {100 * report.ci[1]:.1f}% | {report.mean_gain:+.4f} |", "",
             f"Ties count half; percentile bootstrap over runs, {report.resamples} resamples, seed {report.seed}."]
    return "\n".join(lines) + "\n"
