"""Catalogue search benchmark: index build time and query latency over a growing catalogue.

The catalogue is the two demo spaces' resources, repeated with numbered names up to the target size
(the words stay realistic; the repetition is the only synthetic part). Prints a table and writes
bench/results/catalogue_search.json.

    python bench/catalogue_search.py [--sizes 1000,10000,50000] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.measure import percentile  # noqa: E402
from matchmaker.text import TextIndex, Vocabulary, expand_query  # noqa: E402
from seeds.schema import load_space_file, load_vocabulary, space_files  # noqa: E402

QUERIES = [
    "扫描电镜",
    "失效分析",
    "HPLC",
    "machine vision",
    "晶圆探针台",
    "wire bonder",
    "细胞培养",
    "融资",
    "中试",
    "LC-MS",
    "封装",
    "flow cytometry",
]


def documents() -> tuple[list[str], Vocabulary]:
    vocabulary = load_vocabulary()
    terms = {slug: [*t.zh, *t.en] for slug, t in vocabulary.items()}
    docs = []
    for path in space_files():
        for r in load_space_file(path, vocabulary).resources:
            tag_text = " ".join(" ".join(terms[t]) for t in r.tags)
            docs.append(
                "\n".join(
                    [
                        r.name_zh,
                        r.name_en,
                        r.description_zh,
                        r.description_en,
                        r.service_content_zh,
                        r.service_content_en,
                        tag_text,
                    ]
                )
            )
    return docs, Vocabulary(terms)


def run(sizes: list[int], queries: int) -> dict[str, object]:
    base, vocabulary = documents()
    rng = random.Random(7)
    rows = []
    for size in sizes:
        corpus = [(i, f"{base[i % len(base)]} #{i}") for i in range(size)]
        started = time.perf_counter()
        index = TextIndex(corpus)
        build = time.perf_counter() - started
        latencies = []
        for _ in range(queries):
            q = rng.choice(QUERIES)
            started = time.perf_counter()
            expanded, _ = expand_query(q, vocabulary)
            index.search(expanded)
            latencies.append((time.perf_counter() - started) * 1000)
        row = {
            "resources": size,
            "index_build_s": round(build, 3),
            "query_p50_ms": round(statistics.median(latencies), 2),
            "query_p95_ms": round(percentile(latencies, 0.95), 2),
        }
        rows.append(row)
        print(
            f"{size:>7} resources  build {row['index_build_s']:>6.2f} s  "
            f"query p50 {row['query_p50_ms']:>7.2f} ms  p95 {row['query_p95_ms']:>7.2f} ms"
        )
    return {
        "benchmark": "catalogue_search",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "queries_per_size": queries,
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    result = run([int(s) for s in args.sizes.split(",")], args.queries)
    out = ROOT / "bench" / "results" / "catalogue_search.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
