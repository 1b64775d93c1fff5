"""Ranking speed benchmark: the serving signals, training, one team's top-10 and a full refresh.

The data are generated (numpy seed, so every run ranks the same data): 10,000 teams and 50,000 resources
in 20 spaces (so a team's pool is about 2,500 resources), a 200-tag capability vocabulary with English
and Chinese terms, texts made of a few tag terms plus filler words, six resource kinds (funds with rounds
and ticket ranges), team stages and funding asks, and a year of 150,000 interactions in which teams use
resources whose tags overlap their own, the popular ones more often, and come back to what they used.
Prints figures and writes bench/results/ranking_speed.json.

    python bench/ranking_speed.py [--teams 10000] [--resources 50000] [--events 150000] [--spaces 20]
                                  [--queries 300] [--refresh-teams 1000 | --full-refresh]
                                  [--train estimate|full|both|skip] [--profile-teams 100]

- ``Signals(data)`` is the index serving builds; ``train(data)`` (the selection on a validation period
  included) runs in full by default; ``--train estimate`` estimates it from sampled teams instead.
- Latency is one ``Ranker.recommend(team, k=10)`` (pool, retrieval, features, model, diversification,
  reasons) for random teams, after one warm-up call, with ``explain`` on and off.
- The refresh is top-10 with ``explain=False`` for every team; by default 1,000 random teams are timed
  and the total is extrapolated (and labelled so); ``--full-refresh`` times all of them.
- The stage breakdown repeats the steps of ``recommend`` one by one; the profiles (cProfile own time,
  and pyinstrument's call tree when it is installed) show which functions the time goes to.
"""

from __future__ import annotations

import argparse
import cProfile
import inspect
import io
import json
import os
import pstats
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.measure import code_state, machine, percentile  # noqa: E402
from matchmaker.datasets import Dataset, Entity, Event, time_split  # noqa: E402
from matchmaker.ranking import (  # noqa: E402
    Ranker,
    Signals,
    _neutral,
    _window_pairs,
    cold_start_score,
    train,
    training_pairs,
)

_DEFAULT_TRAIN = "full"

KINDS = ("equipment", "mentor", "fund", "workspace", "service", "pilot_line")
KIND_SHARE = (0.34, 0.24, 0.08, 0.10, 0.16, 0.08)
STAGES = ("nursery", "incubator", "accelerator")
ROUNDS = ("angel", "seed", "pre-a", "a", "b")
START = datetime(2025, 11, 1, tzinfo=UTC)
TARGET_P95_MS = 50.0
TARGET_REFRESH_S = 120.0

# Common characters for the Chinese terms and filler (the texts are bilingual, as the real ones are).
_HANZI = (
    "光电芯片传感器激光检测分析测试材料精密加工制造智能机器视觉算法数据平台生物医药细胞培养基因合成"
    "化学催化能源电池储能封装晶圆探针显微镜质谱色谱热成像声学无线通信导航控制系统软件硬件模具注塑"
    "焊接切割打印扫描电镜流式纳米薄膜涂层真空等离子半导体功率射频微波雷达航空卫星农业食品环境水处理"
)
# Two-character filler words, as in "我们团队需要…".
_FILLER_PAIRS = (
    "我们团队需要提供服务研发项目产品支持合作开发应用技术方案经验用于可以以及相关企业园区创新孵化预约"
)
_FILLER_ZH = [_FILLER_PAIRS[i : i + 2] for i in range(0, len(_FILLER_PAIRS), 2)]


def _pseudo_words(rng: np.random.Generator, n: int, taken: set[str]) -> list[str]:
    consonants, vowels = "bcdfghklmnprstvz", "aeiou"
    out: list[str] = []
    while len(out) < n:
        syllables = rng.integers(2, 4)
        word = "".join(rng.choice(list(consonants)) + rng.choice(list(vowels)) for _ in range(syllables))
        if rng.random() < 0.4:
            word += rng.choice(list(consonants))
        if word not in taken:
            taken.add(word)
            out.append(word)
    return out


def _hanzi_terms(rng: np.random.Generator, n: int) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        term = "".join(rng.choice(list(_HANZI), size=rng.integers(2, 5)))
        if term not in seen:
            seen.add(term)
            out.append(term)
    return out


def generate(teams: int, resources: int, events: int, spaces: int, tags: int = 200, seed: int = 7) -> Dataset:
    """The synthetic deployment described in the module docstring."""
    rng = np.random.default_rng(seed)
    taken: set[str] = set()
    tag_en = _pseudo_words(rng, tags, taken)
    tag_zh = _hanzi_terms(rng, tags)
    filler_en = _pseudo_words(rng, 400, taken)
    filler = np.array(filler_en + list(_FILLER_ZH) * 4)
    tag_weight = 1.0 / np.arange(1, tags + 1) ** 0.8  # some capabilities are far commoner than others
    tag_weight /= tag_weight.sum()
    space_ids = [f"s{i + 1:02d}" for i in range(spaces)]

    def text(tag_ids: np.ndarray, n_filler: int) -> str:
        words = []
        for t in tag_ids:
            roll = rng.random()  # English term, Chinese term or both, as bilingual texts go
            if roll < 0.7:
                words.append(tag_en[t])
            if roll > 0.4:
                words.append(tag_zh[t])
        words.extend(rng.choice(filler, size=n_filler))
        rng.shuffle(words)
        return " ".join(words)

    # Teams --------------------------------------------------------------------------------------
    team_tags = [rng.choice(tags, size=rng.integers(2, 5), replace=False, p=tag_weight) for _ in range(teams)]
    team_space = rng.integers(0, spaces, size=teams)
    team_entities: dict[str, Entity] = {}
    for i in range(teams):
        meta = {"space": space_ids[team_space[i]], "stage": str(rng.choice(STAGES, p=(0.4, 0.4, 0.2)))}
        if rng.random() < 0.3:  # nearly a third of the teams are raising money
            meta["round"] = str(rng.choice(ROUNDS))
            meta["ask"] = str(int(rng.integers(50, 3000)))
        team_entities[f"T{i:05d}"] = Entity(
            f"T{i:05d}",
            text(team_tags[i], int(rng.integers(5, 16))),
            frozenset(tag_en[t] for t in team_tags[i]),
            "team",
            meta,
        )

    # Resources ----------------------------------------------------------------------------------
    res_kind = rng.choice(len(KINDS), size=resources, p=KIND_SHARE)
    res_space = rng.integers(0, spaces, size=resources)
    res_tags = [
        rng.choice(tags, size=rng.integers(2, 6), replace=False, p=tag_weight) for _ in range(resources)
    ]
    appeal = rng.lognormal(0.0, 1.2, size=resources)  # popularity skew: a few instruments everyone books
    res_entities: dict[str, Entity] = {}
    for i in range(resources):
        kind = KINDS[res_kind[i]]
        meta = {"space": space_ids[res_space[i]]}
        if kind == "fund":
            meta["rounds"] = ";".join(rng.choice(ROUNDS, size=rng.integers(1, 4), replace=False))
            low = int(rng.integers(20, 1000))
            meta["ticket_min"], meta["ticket_max"] = str(low), str(low * int(rng.integers(2, 10)))
        shown = res_tags[i][: max(1, int(rng.integers(1, len(res_tags[i]) + 1)))]
        res_entities[f"R{i:06d}"] = Entity(
            f"R{i:06d}",
            text(shown, int(rng.integers(8, 21))),
            frozenset(tag_en[t] for t in res_tags[i]),
            kind,
            meta,
        )

    # Where each team looks: per (space, tag) the resources carrying the tag, weighted by appeal.
    by_space_tag: dict[tuple[int, int], list[int]] = {}
    for i, ts in enumerate(res_tags):
        for t in ts:
            by_space_tag.setdefault((int(res_space[i]), int(t)), []).append(i)
    lookup = {
        key: (np.array(ids), np.cumsum(appeal[ids]) / appeal[ids].sum()) for key, ids in by_space_tag.items()
    }
    by_space = {}
    for s in range(spaces):
        ids = np.flatnonzero(res_space == s)
        by_space[s] = (ids, np.cumsum(appeal[ids]) / appeal[ids].sum())

    # Events: a year, oldest first; some teams very active, a tenth not at all (cold start).
    activity = rng.lognormal(0.0, 1.0, size=teams)
    activity[rng.random(teams) < 0.1] = 0.0
    who = rng.choice(teams, size=events, p=activity / activity.sum())
    seconds = np.sort(rng.integers(0, 365 * 86400, size=events))
    u = rng.random((events, 5))
    history: dict[int, list[int]] = {}
    out: list[Event] = []
    for n in range(events):
        t = int(who[n])
        past = history.setdefault(t, [])
        if past and u[n, 0] < 0.3:  # coming back to something used before
            r = past[int(u[n, 1] * len(past))]
        else:
            s = int(team_space[t])
            key = (s, int(team_tags[t][int(u[n, 1] * len(team_tags[t]))]))
            ids, cum = lookup[key] if u[n, 0] < 0.88 and key in lookup else by_space[s]
            r = int(ids[min(int(np.searchsorted(cum, u[n, 2])), len(ids) - 1)])
            past.append(r)
        out.append(_event(f"T{t:05d}", f"R{r:06d}", KINDS[res_kind[r]], seconds[n], u[n, 3], u[n, 4]))
    return Dataset(teams=team_entities, resources=res_entities, events=tuple(out))


def _event(team: str, resource: str, kind: str, second: int, a: float, b: float) -> Event:
    at = START + timedelta(seconds=int(second))
    if kind == "mentor":
        rating = float(min(5, max(1, round(4.0 + 1.2 * (a - 0.5) * 3))))
        return Event(team, resource, at, "mentor_session", rating=rating)
    if kind == "fund":
        if a < 0.05:
            return Event(team, resource, at, "investment", quantity=float(round(100 + 900 * b)))
        outcome = "accepted" if b < 0.3 else "declined" if b < 0.6 else "ignored" if b < 0.8 else ""
        return Event(team, resource, at, "introduction", outcome=outcome)
    outcome = "completed" if a < 0.85 else "no_show" if a < 0.9 else "cancelled"
    quantity = {"equipment": 1 + 7 * b, "pilot_line": 1 + 3 * b, "workspace": 1.0, "service": 1.0}[kind]
    return Event(team, resource, at, "booking", outcome=outcome, quantity=round(float(quantity), 1))


# ---------------------------------------------------------------------------------------------- timing


def latency(ranker: Ranker, teams: list[str], **options: Any) -> dict[str, float]:
    times = []
    for team in teams:
        started = time.perf_counter()
        ranker.recommend(team, k=10, **options)
        times.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(percentile(times, 0.95), 2),
        "max_ms": round(max(times), 2),
        "mean_ms": round(statistics.fmean(times), 2),
    }


# ---------------------------------------------------------------------------------------------- training


def estimate_training(
    data: Dataset, build_s: float, sample_teams: int, seed: int
) -> tuple[dict[str, Any], HistGradientBoostingClassifier | None]:
    """What ``train(data)`` costs, without waiting half an hour for it: train() is, per window of
    training_pairs(), a time split, one Signals(older) and one pool + retrieval + features per team with
    a positive in the newer slice; then the tree fit and a final Signals(data). Here each window's split
    and Signals are timed in full and ``_window_pairs`` (the real code) runs on a random sample of the
    window's teams; the per-team cost is scaled to all of them. The fit is timed on the sampled pairs and
    scaled by rows. The model fitted here (same settings as train's: cloned from a model train() fitted on
    a small generated data set) is the one the latency figures use."""
    parameters = inspect.signature(training_pairs).parameters
    windows = parameters["windows"].default
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    xs, ys = [], []
    for fraction in windows:
        started = time.perf_counter()
        older, rest = time_split(data, fraction)  # as training_pairs() does
        newer = time_split(rest, 0.5)[0] if fraction > 0.2 else rest
        teams = sorted(t for t in newer.positives() if t in data.teams)
        split_s = time.perf_counter() - started
        chosen = set(rng.choice(teams, size=min(sample_teams, len(teams)), replace=False).tolist())
        sample = newer.with_events(tuple(e for e in newer.events if e.team in chosen))
        started = time.perf_counter()
        Signals(older)
        signals_s = time.perf_counter() - started
        started = time.perf_counter()
        x, y, _ = _window_pairs(older, sample, seed=seed)
        pairs_s = time.perf_counter() - started
        per_team = max(pairs_s - signals_s, 0.0) / len(chosen)
        row = {
            "window": fraction,
            "older_events": len(older.events),
            "teams_with_positives": len(teams),
            "teams_sampled": len(chosen),
            "split_s": round(split_s, 2),
            "signals_s": round(signals_s, 2),
            "per_team_ms": round(per_team * 1000, 1),
            "pairs_estimated": round(len(y) / len(chosen) * len(teams)),
            "window_s": round(split_s + signals_s + per_team * len(teams), 1),
        }
        rows.append(row)
        xs.append(x)
        ys.append(y)
        print(
            f"  window {fraction}: split {split_s:.1f} s, Signals(older) {signals_s:.1f} s, "
            f"{per_team * 1000:.0f} ms x {len(teams)} teams -> {row['window_s']:.0f} s "
            f"(per-team cost from {len(chosen)} sampled teams)",
            flush=True,
        )
    x_all, y_all = np.vstack(xs), np.concatenate(ys)
    model = None
    template = train(generate(600, 3_000, 9_000, 2, seed=seed + 2)).model
    fit_s = fit_estimated = 0.0
    if template is not None and len(set(y_all.tolist())) == 2:
        model = clone(template)
        started = time.perf_counter()
        with threadpool_limits(1):
            model.fit(x_all, y_all)
        fit_s = time.perf_counter() - started
        fit_estimated = fit_s * sum(r["pairs_estimated"] for r in rows) / len(y_all)
    total = sum(r["window_s"] for r in rows) + fit_estimated + build_s
    print(
        f"  fit: {fit_s:.1f} s on {len(y_all)} sampled pairs -> ~{fit_estimated:.0f} s on "
        f"~{sum(r['pairs_estimated'] for r in rows)} pairs; final Signals(data) {build_s:.1f} s",
        flush=True,
    )
    summary = {
        "estimated": True,
        "train_s_estimated": round(total, 1),
        "windows": rows,
        "fit_sample_pairs": len(y_all),
        "fit_sample_s": round(fit_s, 2),
        "fit_s_estimated": round(fit_estimated, 1),
        "final_signals_s": round(build_s, 2),
        "model_iterations": int(model.n_iter_) if model is not None else None,
    }
    return summary, model


# ---------------------------------------------------------------------------------------------- profile


def stages(ranker: Ranker, teams: list[str]) -> dict[str, float]:
    """Mean milliseconds per team of each step of ``Ranker.recommend(team, k=10)`` done one by one, then
    (indented) parts of those steps timed again on their own."""
    s = ranker.signals
    spent: dict[str, float] = {}

    def timed(name: str, step: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        value = step(*args)
        spent[name] = spent.get(name, 0.0) + (time.perf_counter() - started) * 1000
        return value

    def predict(x: np.ndarray) -> np.ndarray:
        if ranker.model is None:
            return cold_start_score(x)
        with threadpool_limits(1):
            return ranker.model.predict_proba(x)[:, 1]  # type: ignore[no-any-return]

    def top(positions: np.ndarray, scores: np.ndarray) -> np.ndarray:
        diversified = getattr(ranker, "_diversified", None)  # present in newer versions of ranking.py
        if diversified is not None:
            return diversified(positions, scores, 10)  # type: ignore[no-any-return]
        return np.argsort(-scores, kind="stable")[:10]

    for team in teams:
        t = s.team_pos[team]
        pool = timed("pool()", ranker.pool, team)
        positions = timed("candidates()", s.candidates, team, pool)
        x = timed("features()", s.features, team, positions)
        scores = timed("model (or cold-start score)", predict, x)
        order = timed("ordering (_diversified() or argsort)", top, positions, scores)
        neutral = _neutral(x)
        timed(
            "_reasons() for the top 10",
            ranker._reasons,
            team,
            ranker.scorer(ranker.served_by(team)),
            positions[order],
            x[order],
            scores[order],
            neutral,
        )
        # Parts, timed again on their own (the first two run twice per recommend: candidates, features).
        timed("  _content_row(t) (x2 per call)", s._content_row, t)
        timed("  _walk_row(t) (x2 per call)", s._walk_row, t)
        timed("    of which graph.proximity(t)", s.graph.proximity, t)
        timed("  use.getrow(t).toarray() (features)", lambda: s.use.getrow(t).toarray())  # noqa: B023
        timed("  fund/ticket loop (features, replica)", _fund_loop, s, team, positions)
        timed("  vectorizer.get_feature_names_out()", s.vectorizer.get_feature_names_out)
        timed("  threadpool_limits(1) enter + exit", _limits)
    return {name: round(total / len(teams), 3) for name, total in spent.items()}


def _limits() -> None:
    """What each ``with threadpool_limits(1):`` costs (it looks up the loaded libraries every time)."""
    with threadpool_limits(1):
        pass


def build_profile(data: Dataset, top: int = 15) -> list[dict[str, Any]]:
    """cProfile of ``Signals(data)``: the calls with the most cumulative time."""
    prof = cProfile.Profile()
    prof.enable()
    Signals(data)
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    rows = sorted(stats.items(), key=lambda kv: -kv[1][3])[:top]
    return [
        {
            "function": f"{Path(file).name}:{line}({name})",
            "calls": calls,
            "own_s": round(own, 2),
            "cumulative_s": round(cumulative, 2),
        }
        for (file, line, name), (_, calls, own, cumulative, _callers) in rows
    ]


def _fund_loop(s: Signals, team: str, positions: np.ndarray) -> None:
    """The per-position Python loop of features() (round and ticket fit), copied."""
    entity = s.data.teams[team]
    for p in positions:
        meta = s.data.resources[s.resource_ids[p]].meta
        if "rounds" in meta and entity.meta.get("round"):
            meta["rounds"].split(";")
        meta.get("ticket_min"), meta.get("ticket_max")


def self_time(ranker: Ranker, teams: list[str], top: int = 15) -> list[dict[str, Any]]:
    """cProfile's own-time ranking (tottime): the functions the time is actually spent in."""
    prof = cProfile.Profile()
    prof.enable()
    for team in teams:
        ranker.recommend(team, k=10)
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.values())
    rows = sorted(stats.items(), key=lambda kv: -kv[1][2])[:top]
    return [
        {
            "function": f"{Path(file).name}:{line}({name})",
            "calls_per_team": round(calls / len(teams), 1),
            "own_ms_per_team": round(own * 1000 / len(teams), 3),
            "share": round(own / total, 3),
        }
        for (file, line, name), (_, calls, own, _cum, _callers) in rows
    ]


def call_tree(ranker: Ranker, teams: list[str]) -> dict[str, str]:
    """Where the time of ``recommend`` goes: pyinstrument's call tree when installed, else cProfile's
    cumulative listing."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        prof = cProfile.Profile()
        prof.enable()
        for team in teams:
            ranker.recommend(team, k=10)
        prof.disable()
        buffer = io.StringIO()
        pstats.Stats(prof, stream=buffer).sort_stats("cumulative").print_stats(25)
        return {"tool": "cProfile", "report": buffer.getvalue()}
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for team in teams:
        ranker.recommend(team, k=10)
    profiler.stop()
    return {"tool": "pyinstrument", "report": profiler.output_text(unicode=True, color=False)}


# ---------------------------------------------------------------------------------------------- run


def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"benchmark": "ranking_speed", **machine()}
    result["omp_num_threads"] = os.environ.get("OMP_NUM_THREADS", "unset")
    result["code"] = code_state(("matchmaker/ranking.py", "matchmaker/graph.py"))
    print(f"{result['machine']} ({result['cpu']}), OMP_NUM_THREADS={result['omp_num_threads']}")
    if result["code"]["uncommitted_changes_in"]:
        print(f"measuring uncommitted code in {', '.join(result['code']['uncommitted_changes_in'])}")

    started = time.perf_counter()
    data = generate(args.teams, args.resources, args.events, args.spaces, seed=args.seed)
    generated = time.perf_counter() - started
    pool_sizes = Counter(r.meta["space"] for r in data.resources.values())
    active = len({e.team for e in data.events})
    result["data"] = {
        "teams": len(data.teams),
        "resources": len(data.resources),
        "events": len(data.events),
        "spaces": args.spaces,
        "tags": 200,
        "mean_pool": round(statistics.fmean(pool_sizes.values())),
        "teams_with_events": active,
        "distinct_pairs": len({(e.team, e.resource) for e in data.events}),
        "seed": args.seed,
    }
    print(
        f"data: {len(data.teams)} teams, {len(data.resources)} resources, {len(data.events)} events "
        f"({active} teams with events; pools of ~{result['data']['mean_pool']} resources) "
        f"generated in {generated:.1f} s",
        flush=True,
    )

    print("building Signals(data) (the serving index) ...", flush=True)
    started = time.perf_counter()
    signals = Signals(data)
    build = time.perf_counter() - started
    print(f"  Signals(data): {build:.1f} s", flush=True)
    result["signals_build_s"] = round(build, 2)

    ranker = Ranker(signals)
    training: dict[str, Any] = {}
    if args.train in ("estimate", "both"):
        print(f"training cost, estimated (train() on sampled teams, {args.train_sample} per window) ...")
        training["estimate"], model = estimate_training(data, build, args.train_sample, seed=0)
        ranker = Ranker(signals, model)
        print(f"  train(data) estimated: {training['estimate']['train_s_estimated']:.0f} s", flush=True)
    if args.train in ("full", "both"):
        print("train(data), in full (selection on a validation period, then the fit on all) ...", flush=True)
        load_before = os.getloadavg()
        started = time.perf_counter()
        ranker = train(data)
        trained = time.perf_counter() - started
        training["full"] = {
            "estimated": False,
            "train_s": round(trained, 1),
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in os.getloadavg()],
            "selection": ranker.describe(),
        }
        print(f"  train(data) with selection: {trained:.1f} s; serving {ranker.describe()}", flush=True)
    if args.train == "skip":
        print("  training skipped (--train skip): the cold-start score serves", flush=True)
    result["training"] = training
    result["serving"] = ranker.mode
    trained_label = "trained" if ranker.model is not None else "cold start"

    rng = np.random.default_rng(args.seed + 1)
    team_ids = sorted(data.teams)
    sample = [team_ids[i] for i in rng.choice(len(team_ids), size=args.queries, replace=False)]
    started = time.perf_counter()
    ranker.recommend(sample[0], k=10)
    first = (time.perf_counter() - started) * 1000
    print(f"first recommend() (also builds the walk matrices): {first:.0f} ms", flush=True)
    result["first_query_ms"] = round(first, 1)

    rows: dict[str, dict[str, float]] = {}
    runs = [(f"{trained_label}, explain={e}", ranker, e) for e in (True, False)]
    if ranker.model is not None:
        runs.append(("cold start, explain=True", Ranker(signals), True))
    for name, r, explain in runs:
        print(f"top-10 latency over {len(sample)} random teams, {name} ...", flush=True)
        rows[name] = row = latency(r, sample, explain=explain)
        print(
            f"  p50 {row['p50_ms']:>6.1f} ms  p95 {row['p95_ms']:>6.1f} ms  max {row['max_ms']:>6.1f} ms  "
            f"(target p95 < {TARGET_P95_MS:.0f} ms: {'met' if row['p95_ms'] < TARGET_P95_MS else 'NOT met'})",
            flush=True,
        )
    result["latency_top10"] = rows

    # As served: each space's exposure-capped plan is made once (every team of the space ranked, then
    # the capped assignment solved); afterwards a team's list is its share of the plan.
    by_space: dict[str, str] = {}
    for team in team_ids:
        by_space.setdefault(data.teams[team].meta.get("space", ""), team)
    print(f"exposure-capped plans for {len(by_space)} spaces ...", flush=True)
    started = time.perf_counter()
    for team in by_space.values():
        ranker.fair_plan(team, k=10)
    plans = time.perf_counter() - started
    print(f"  {plans:.1f} s in all, {plans / len(by_space):.2f} s per space", flush=True)
    served = latency(ranker, sample, explain=True, fair=True)
    print(
        f"  served (capped) top-10 with reasons: p50 {served['p50_ms']:.1f} ms  p95 {served['p95_ms']:.1f} ms"
    )
    result["served_capped"] = {
        "plans_s": round(plans, 1),
        "per_space_s": round(plans / len(by_space), 2),
        "latency_top10": served,
    }

    n_refresh = len(team_ids) if args.full_refresh else min(args.refresh_teams, len(team_ids))
    refresh_teams = (
        team_ids if args.full_refresh else sorted(rng.choice(team_ids, n_refresh, replace=False).tolist())
    )
    print(f"refresh: top-10 with explain=False ({trained_label}) for {n_refresh} teams ...", flush=True)
    started = time.perf_counter()
    for i, team in enumerate(refresh_teams, start=1):
        ranker.recommend(team, k=10, explain=False)
        if i % 250 == 0 and i < n_refresh:
            print(f"  {i} teams, {time.perf_counter() - started:.0f} s", flush=True)
    spent = time.perf_counter() - started
    total = spent * len(team_ids) / n_refresh
    extrapolated = n_refresh < len(team_ids)
    how = f"EXTRAPOLATED from {n_refresh} teams" if extrapolated else "measured"
    print(
        f"  {n_refresh} teams in {spent:.1f} s; all {len(team_ids)} teams: {total:.0f} s ({how}; "
        f"target < {TARGET_REFRESH_S:.0f} s: {'met' if total < TARGET_REFRESH_S else 'NOT met'})",
        flush=True,
    )
    result["refresh"] = {
        "explain": False,
        "k": 10,
        "teams_timed": n_refresh,
        "timed_s": round(spent, 1),
        "all_teams": len(team_ids),
        "all_teams_s": round(total, 1),
        "extrapolated": extrapolated,
    }
    result["targets"] = {
        "top10_p95_under_50ms_explain": rows[f"{trained_label}, explain=True"]["p95_ms"] < TARGET_P95_MS,
        "top10_p95_under_50ms_no_explain": rows[f"{trained_label}, explain=False"]["p95_ms"] < TARGET_P95_MS,
        "refresh_under_2min": total < TARGET_REFRESH_S,
    }

    if args.profile_teams > 0:
        few = sample[: args.profile_teams]
        print(f"stage breakdown, mean ms per team over {len(few)} teams ({trained_label}):", flush=True)
        breakdown = stages(ranker, few)
        for name, ms in breakdown.items():
            print(f"  {name:<42} {ms:>8.2f} ms")
        result["stages_ms_per_team"] = breakdown
        print("own time by function (cProfile tottime; recommend, explain=True):", flush=True)
        own = self_time(ranker, few)
        for entry in own:
            print(
                f"  {entry['own_ms_per_team']:>7.2f} ms  {entry['share'] * 100:>5.1f}%  "
                f"{entry['calls_per_team']:>8} calls/team  {entry['function']}"
            )
        result["own_time"] = own
        tree = call_tree(ranker, few)
        print(f"call tree ({tree['tool']}; recommend, explain=True, {len(few)} teams):")
        print(tree["report"])
        result["call_tree"] = tree
        print("Signals(data) build (cProfile, cumulative; profiling slows it down):", flush=True)
        build_rows = build_profile(data)
        for entry in build_rows:
            print(
                f"  {entry['cumulative_s']:>6.2f} s cumulative  {entry['own_s']:>6.2f} s own  "
                f"{entry['calls']:>8} calls  {entry['function']}"
            )
        result["signals_build_profile"] = build_rows
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=10_000)
    parser.add_argument("--resources", type=int, default=50_000)
    parser.add_argument("--events", type=int, default=150_000)
    parser.add_argument("--spaces", type=int, default=20)
    parser.add_argument("--queries", type=int, default=300, help="random teams for the latency figures")
    parser.add_argument("--refresh-teams", type=int, default=1_000, help="teams timed for the refresh")
    parser.add_argument("--full-refresh", action="store_true", help="time the refresh of every team")
    parser.add_argument(
        "--train",
        choices=("estimate", "full", "both", "skip"),
        default=_DEFAULT_TRAIN,
        help="run train(data) in full (the default), estimate it from sampled teams, both, or skip it "
        "and serve the cold-start score",
    )
    parser.add_argument("--train-sample", type=int, default=150, help="teams per window for the estimate")
    parser.add_argument("--profile-teams", type=int, default=100, help="0: no breakdown or profile")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    result = run(args)
    out = ROOT / "bench" / "results" / "ranking_speed.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
