"""Search precision: the forty judged queries of ``tests/search/judgments.json`` over the demo catalogue.

Loads the demo spaces into a temporary SQLite database, runs each query through the catalogue search
(as the catalogue page and ``GET /api/v1/resources`` do), and prints precision@5 per query and on
average, in two readings:

- ``P@5``: relevant results among the first five, divided by five (a query with one relevant resource
  scores at most 0.2);
- ``P@5 (attainable)``: the same count divided by the most it could be, ``min(5, relevant)``;
- ``shown``: the same count divided by how many results the search showed among its first five (of
  what a person is shown first, the share that is relevant; a search showing nothing scores 0).

Writes bench/results/search_precision.json.

    python bench/search_precision.py [--show]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from matchmaker.operations import catalogue  # noqa: E402
from matchmaker.permissions import ANONYMOUS  # noqa: E402
from models import Resource, migrate  # noqa: E402
from models.database import make_engine, make_session_factory  # noqa: E402
from seeds.demo import load_demo  # noqa: E402

JUDGMENTS = ROOT / "tests" / "search" / "judgments.json"
K = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show", action="store_true", help="print each query's first five results")
    args = parser.parse_args()
    judged = json.loads(JUDGMENTS.read_text(encoding="utf-8"))["queries"]
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/search.sqlite3"
        migrate.upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        load_demo(factory)
        rows = []
        with factory() as session:
            keys = dict(session.execute(select(Resource.id, Resource.key)).all())
            for item in judged:
                found = catalogue.search_resources(
                    session, ANONYMOUS, catalogue.SearchQuery(q=item["q"], limit=K)
                ).resources
                top = [keys[r.id] for r in found]
                hits = sum(1 for k in top if k in item["relevant"])
                rows.append(
                    {
                        "lang": item["lang"],
                        "q": item["q"],
                        "hits": hits,
                        "relevant": len(item["relevant"]),
                        "p_at_5": hits / K,
                        "p_at_5_attainable": hits / min(K, len(item["relevant"])),
                        "shown": hits / len(top) if top else 0.0,
                        "top": top,
                    }
                )
        engine.dispose()
    print(f"{'query':<24} {'hits':>4} {'rel':>4}  P@5   P@5*  shown")
    for row in rows:
        print(
            f"{row['q']:<24} {row['hits']:>4} {row['relevant']:>4}  {row['p_at_5']:.2f}  "
            f"{row['p_at_5_attainable']:.2f}  {row['shown']:.2f}"
        )
        if args.show:
            print("    " + ", ".join(row["top"]))
    summary = {
        lang: {
            "p_at_5": round(statistics.mean(r["p_at_5"] for r in rows if lang in ("all", r["lang"])), 3),
            "p_at_5_attainable": round(
                statistics.mean(r["p_at_5_attainable"] for r in rows if lang in ("all", r["lang"])), 3
            ),
            "shown": round(statistics.mean(r["shown"] for r in rows if lang in ("all", r["lang"])), 3),
            "irrelevant_in_first_five": sum(
                len(r["top"]) - r["hits"] for r in rows if lang in ("all", r["lang"])
            ),
        }
        for lang in ("all", "en", "zh")
    }
    for lang, figures in summary.items():
        p5, attainable, shown = figures["p_at_5"], figures["p_at_5_attainable"], figures["shown"]
        print(
            f"mean {lang:>3}: P@5 {p5:.3f}  P@5 (attainable) {attainable:.3f}  shown {shown:.3f}  "
            f"irrelevant results in the first five: {figures['irrelevant_in_first_five']}"
        )
    out = ROOT / "bench" / "results" / "search_precision.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"summary": summary, "queries": rows}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
