"""How the time to index one article file grows with its size: it should grow in step.

    python bench/article_size.py [--sizes 0.1,0.5,1,2,5,10,20,50] [--source JSONL]

Each size is one ``.txt`` file of BBC news articles (``shared/data/news``; the
seed articles when that is missing) laid end to end, paragraphs kept, in a
corpus folder of its own. Timed: reading the file and building the engine
(Punkt training, cleaning, splitting, attribution, tokenizing, BM25), with
``max_article_bytes`` raised above the largest size. Linear work shows as a
flat "CPU ms per MB" column (CPU time: the work itself, steady on a busy machine).
The chart goes to ``bench/results/article_size.png`` when matplotlib (the ``bench``
extra) is installed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bot.core.answer.engine import Engine
from bot.core.ingest.files import read_article
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
BBC = ROOT.parent / "shared" / "data" / "news" / "bbc-news.jsonl"
CHART = ROOT / "bench" / "results" / "article_size.png"
MB = 1024 * 1024


def article_texts(source: Path) -> list[str]:
    """Article bodies to repeat: the news set's, else the seeds'."""
    if source.exists():
        with source.open(encoding="utf-8") as lines:
            return [json.loads(line)["text"] for line in lines]
    return [path.read_text(encoding="utf-8") for path in sorted((ROOT / "seeds").glob("*.txt"))]


def one_article(texts: list[str], size: int) -> str:
    """Articles laid end to end, blank lines between, cut to ``size`` bytes at a paragraph."""
    parts, total, i = [], 0, 0
    while total < size:
        parts.append(texts[i % len(texts)])
        total += len(parts[-1].encode("utf-8")) + 2
        i += 1
    text = "\n\n".join(parts)
    return text.encode("utf-8")[:size].decode("utf-8", errors="ignore").rsplit("\n\n", 1)[0]


def index_one(path: Path, settings: Settings) -> tuple[float, float, int]:
    """Wall and CPU seconds to read and index one file as a corpus, and its sentence count.

    One article is prepared in this process alone, so its CPU time is the work done,
    whatever else the machine runs; the wall time is what a user waits on a quiet one.
    """
    start, cpu = time.perf_counter(), time.process_time()
    raw = read_article(path, path.name, settings.max_article_bytes)
    engine = Engine.from_articles([raw], settings.core_options().engine)
    return time.perf_counter() - start, time.process_time() - cpu, engine.sentence_count


def chart(rows: list[tuple[float, float, float]], path: Path) -> None:
    """ms per MB against file size; a flat line is linear work."""
    try:
        import matplotlib
    except ImportError:
        print("(no chart: matplotlib is not installed; pip install -e '.[bench]')")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axis = plt.subplots(figsize=(6.4, 4))
    axis.plot([r[0] for r in rows], [r[2] for r in rows], "o-")
    axis.set_xscale("log")
    axis.set_ylim(bottom=0)
    axis.set_xlabel("one article file (MB)")
    axis.set_ylabel("read + index CPU time per MB (ms)")
    axis.set_title("Indexing one large article: time per MB")
    axis.grid(True, which="both", lw=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"chart: {path}")


def main() -> None:
    """Time each size, print the table, draw the chart."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="0.1,0.5,1,2,5,10,20,50", help="file sizes in MB")
    parser.add_argument("--source", type=Path, default=BBC, help="news JSONL with a 'text' field")
    parser.add_argument("--chart", type=Path, default=CHART)
    args = parser.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    texts = article_texts(args.source)
    limit = int(max(sizes) * MB) + MB
    settings = Settings(_env_file=None, max_article_bytes=limit, ingest_workers=1)
    print(f"{'MB':>6} {'sentences':>10} {'seconds':>9} {'CPU s':>9} {'CPU ms/MB':>10}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="newsquote-article-size-") as work:
        warm = Path(work) / "warm-up.txt"  # imports NLTK (lazily imported) before the timing
        warm.write_text(one_article(texts, 20_000), encoding="utf-8")
        index_one(warm, settings)
        for size in sizes:
            path = Path(work) / "article.txt"
            path.write_text(one_article(texts, int(size * MB)), encoding="utf-8")
            megabytes = path.stat().st_size / MB
            seconds, cpu, sentences = index_one(path, settings)
            rows.append((megabytes, cpu, cpu * 1000 / megabytes))
            print(
                f"{megabytes:6.1f} {sentences:10,} {seconds:9.2f} {cpu:9.2f} {rows[-1][2]:10.0f}",
                flush=True,
            )
    chart(rows, args.chart)


if __name__ == "__main__":
    main()
