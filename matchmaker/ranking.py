"""Two-stage ranking: retrieve candidates by recent popularity, collaborative neighbours, graph walk and
content, score them with whichever scorer won on a validation period (the learned model over pair
features or one of the strong simple ones), and explain each recommendation by what drove it."""

from __future__ import annotations

import json
import math
import pickle
import random
import re
import threading
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from threadpoolctl import ThreadpoolController

from matchmaker import exposure
from matchmaker.datasets import Dataset, Entity, label, time_split
from matchmaker.evaluation import ndcg_at_k
from matchmaker.graph import Interaction, InteractionGraph
from matchmaker.text import features as text_features

# The pair features, in the model's column order. Each has a reason template (see Ranker._reason).
FEATURES = (
    "content",  # TF-IDF cosine of the team's words and the resource's, both languages
    "tag_fit",  # cosine of the two capability-tag sets
    "walk",  # RP3beta proximity in the interaction graph, scaled to the team's best
    "neighbours",  # item-item collaborative score: similarity to what the team used, scaled to its best
    "repeat",  # the team's own decayed use of this resource
    "recent_repeat",  # the team's own positive uses of it in the last 30 days (log scale)
    "popularity",  # decayed use by everybody (log scale)
    "popularity_7d",  # positive uses by everybody in the last 7, 30 and 90 days (log scale)
    "popularity_30d",
    "popularity_90d",
    "stage_popularity",  # positive uses in the last 90 days by teams at the team's stage (log scale)
    "reach",  # how many teams had a positive outcome with it (log scale): one heavy user cannot inflate it
    "kind_share",  # how much teams at this stage use this kind of resource
    "quality",  # the resource's mean outcome label so far
    "round_fit",  # a fund invests in the round the team seeks (1/0; -1 for other kinds)
    "ticket_fit",  # the team's ask lies in the fund's ticket range (1/0; -1 otherwise)
)
_F = {name: i for i, name in enumerate(FEATURES)}
WINDOWS = (7, 30, 90)  # days of the recent-popularity features
RECENT_DAYS = 30  # the team's own recent activity
NEIGHBOURS = 50  # most similar items kept per item for the collaborative score
RETRIEVE = 200  # candidates re-ranked per query
# Share of the retrieval budget per source; what is left is filled by recent popularity.
SOURCES = (
    ("stage_popularity", 0.1),
    ("recent_popularity", 0.1),
    ("reach", 0.1),
    ("popularity", 0.1),
    ("neighbours", 0.2),
    ("walk", 0.15),
    ("content", 0.15),
)
# "Does not apply" (a mentor has no ticket range; an unused resource has no record yet). A value below
# every real one rather than NaN: the trees split on it just the same, and columns are never all-NaN.
NOT_APPLICABLE = -1.0
# How much a recommendation list trades score for variety (0: none), for the scorers that read text.
DIVERSITY = 0.2
HALF_LIFE_DAYS = 180.0
# Share of the training history kept back to choose the scorer that serves (see select()).
VALIDATION = 0.15  # equal to the last training cut, so the windows are shared (see train())
MAX_VALIDATION_TEAMS = 1000
COLD_FRACTION = 0.25


@dataclass(frozen=True)
class Reason:
    feature: str
    en: str
    zh: str


@dataclass(frozen=True)
class Recommendation:
    resource: str
    score: float
    reasons: tuple[Reason, ...] = field(default=())
    # For two-sided lists: (the team's side, the resource's side) whose harmonic mean is ``score``.
    sides: tuple[float, float] | None = None


class Signals:
    """Everything the features are computed from, fitted on one period of interactions."""

    def __init__(
        self,
        data: Dataset,
        *,
        now: datetime | None = None,
        half_life_days: float = HALF_LIFE_DAYS,
        tag_labels: Mapping[str, tuple[str, str]] | None = None,
    ) -> None:
        self.data = data
        # Tag slug -> (English, Chinese) names for reasons; the slug itself when a data set has none.
        self.tag_labels = dict(tag_labels or {})
        self.known_terms = {term for en, zh in self.tag_labels.values() for term in (en.lower(), zh)}
        self.team_ids = sorted(data.teams)
        self.resource_ids = sorted(data.resources)
        self.team_pos = {t: i for i, t in enumerate(self.team_ids)}
        self.res_pos = {r: i for i, r in enumerate(self.resource_ids)}
        self.now = now or (max(e.at for e in data.events) if data.events else datetime.now().astimezone())
        teams = [data.teams[t] for t in self.team_ids]
        resources = [data.resources[r] for r in self.resource_ids]
        n_teams, n_res = len(teams), len(resources)

        # Content: one vocabulary over both sides, so a team's needs and a resource's description meet.
        text = _text_index(data, teams, resources)
        self.team_text, self.res_text, self.res_text_t, self.vectorizer, self.term_names = text
        # Each space's resource positions (resources without a space are open to every space).
        open_to_all = [i for i, r in enumerate(resources) if not r.meta.get("space")]
        by_space: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(resources):
            if r.meta.get("space"):
                by_space[r.meta["space"]].append(i)
        self.space_pools = {space: np.array(sorted(ids + open_to_all)) for space, ids in by_space.items()}
        self.shared_pool = np.array(open_to_all, dtype=int)
        self.kinds = np.array([r.kind for r in resources], dtype=object)
        self._rows_for: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._tags_for: tuple[int, np.ndarray] | None = None

        tags = sorted({t for e in teams + resources for t in e.tags})
        tag_pos = {t: i for i, t in enumerate(tags)}
        self.team_tags = _normalised_rows(_binary(teams, tag_pos))
        self.res_tags = _normalised_rows(_binary(resources, tag_pos))

        known = [e for e in data.events if e.team in self.team_pos and e.resource in self.res_pos]
        self.graph = InteractionGraph(
            range(n_teams),
            range(n_res),
            (
                Interaction(
                    team_id=self.team_pos[e.team],
                    resource_id=self.res_pos[e.resource],
                    kind=e.kind,
                    at=e.at,
                    rating=round(e.rating) if e.rating is not None else None,
                    outcome=e.outcome or None,
                    quantity=e.quantity,
                )
                for e in known
            ),
            now=self.now,
            half_life_days=half_life_days,
        )
        self.use = self.graph.biadjacency()  # teams x resources, decayed weights
        self.popularity = np.log1p(np.asarray(self.use.sum(axis=0)).ravel())
        # A team is warm when it has any use on record; cold teams are served by the cold choice.
        self.warm = np.diff(self.use.indptr) > 0

        # Recent popularity: positive events counted in windows ending now, overall and per stage.
        labels_of = np.array([label(e) for e in known])
        positive = [e for e, v in zip(known, labels_of, strict=True) if v > 0]
        ages = np.array([(self.now - e.at).total_seconds() / 86400 for e in positive])
        res_of = np.array([self.res_pos[e.resource] for e in positive], dtype=int)
        team_of = np.array([self.team_pos[e.team] for e in positive], dtype=int)
        self.recent: dict[int, np.ndarray] = {
            w: np.log1p(np.bincount(res_of[ages <= w], minlength=n_res).astype(float)) for w in WINDOWS
        }
        stage_of = np.array([data.teams[e.team].meta.get("stage", "") for e in positive], dtype=object)
        last = ages <= max(WINDOWS)
        self.stage_recent: dict[str, np.ndarray] = {
            stage: np.log1p(np.bincount(res_of[last & (stage_of == stage)], minlength=n_res).astype(float))
            for stage in set(stage_of.tolist())
        }
        # Reach: how many teams had a positive outcome with it (one heavy user cannot inflate it).
        distinct = np.unique(team_of.astype(np.int64) * n_res + res_of) if len(res_of) else np.zeros(0, int)
        self.reach = np.log1p(np.bincount(distinct % max(n_res, 1), minlength=n_res).astype(float))
        latest = ages <= RECENT_DAYS
        self.team_recent = sparse.csr_matrix(
            (np.ones(int(latest.sum())), (team_of[latest], res_of[latest])), shape=(n_teams, n_res)
        )
        self.team_recent.sum_duplicates()
        # Ties between equal scores are broken by overall popularity, then by a fixed random order:
        # never by the ids' string order, which would make "r0001" everybody's first suggestion.
        self.tiebreak = np.random.default_rng(0).permutation(n_res).astype(float)
        # The same order as one number in [0, 1e-9): added to a score it orders ties in one sort.
        self.tierank = np.empty(n_res)
        self.tierank[np.lexsort((self.tiebreak, self.popularity))] = np.arange(n_res) / max(n_res, 1) * 1e-9
        self.neighbours = _item_neighbours(self.use, NEIGHBOURS)

        labels: dict[int, list[float]] = defaultdict(list)
        stage_kinds: dict[str, Counter[str]] = defaultdict(Counter)
        for e, v in zip(known, labels_of, strict=True):
            labels[self.res_pos[e.resource]].append(float(v))
            stage = data.teams[e.team].meta.get("stage", "")
            stage_kinds[stage][data.resources[e.resource].kind] += 1
        self.quality = np.array([np.mean(labels[i]) if labels[i] else NOT_APPLICABLE for i in range(n_res)])
        self.kind_share = {
            stage: {kind: n / sum(counts.values()) for kind, n in counts.items()}
            for stage, counts in stage_kinds.items()
        }

    def unseen(self, team: str, pool: np.ndarray) -> np.ndarray:
        """The positions of ``pool`` the team has no use of on record."""
        t = self.team_pos[team]
        used = self.use.indices[self.use.indptr[t] : self.use.indptr[t + 1]]
        kept: np.ndarray = pool[~np.isin(pool, used)]
        return kept

    def is_warm(self, team: str) -> bool:
        return team in self.team_pos and bool(self.warm[self.team_pos[team]])

    def stage_row(self, team: str) -> np.ndarray:
        """Recent popularity among teams at the team's stage (all teams when stages are unknown)."""
        stage = self.data.teams[team].meta.get("stage", "")
        row = self.stage_recent.get(stage)
        return row if row is not None else self.recent[max(WINDOWS)]

    def order(self, positions: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Indices into ``positions``, best score first; ties by popularity, then a fixed random order."""
        order: np.ndarray = np.argsort(-(scores + self.tierank[positions]), kind="stable")
        return order

    def top(self, positions: np.ndarray, scores: np.ndarray, n: int) -> np.ndarray:
        """Indices of the ``n`` best of ``positions`` (in no particular order), ties as in :meth:`order`."""
        if n >= len(positions):
            return np.arange(len(positions))
        best: np.ndarray = np.argpartition(-(scores + self.tierank[positions]), n)[:n]
        return best

    # Retrieval ----------------------------------------------------------------------------------

    def candidates(self, team: str, pool: np.ndarray | None = None, limit: int = RETRIEVE) -> np.ndarray:
        """About ``limit`` resource positions that always carry the strong simple signals: the best by
        recent popularity (overall and at the team's stage), by reach, by decayed popularity, by the
        collaborative score, by graph walk and by content (each only where it has something to say),
        everything the team already used, and the rest of the budget by recent popularity. So every
        simple scorer's own top list is among the candidates. ``pool`` restricts the choice (e.g. to
        the team's space)."""
        allowed = pool if pool is not None else np.arange(len(self.resource_ids))
        if len(allowed) <= limit:
            return allowed
        t = self.team_pos[team]
        content, walk, neighbours = (row[allowed] for row in self._rows(t))
        recent = self.recent[30][allowed] + 0.1 * self.recent[90][allowed]
        by_source = {
            "stage_popularity": self.stage_row(team)[allowed],
            "recent_popularity": recent + 0.05 * self.recent[7][allowed],
            "reach": self.reach[allowed],
            "popularity": self.popularity[allowed],
            "neighbours": neighbours,
            "walk": walk,
            "content": content,
        }
        picked = [allowed[np.isin(allowed, self.use.indices[self.use.indptr[t] : self.use.indptr[t + 1]])]]
        for name, share in SOURCES:
            score = by_source[name]
            top = self.top(allowed, score, int(limit * share))
            picked.append(allowed[top[score[top] > 0]])
        chosen = np.unique(np.concatenate(picked))
        if len(chosen) < limit:
            rest = allowed[self.order(allowed, recent)]
            rest = rest[~np.isin(rest, chosen)][: limit - len(chosen)]
            chosen = np.concatenate([chosen, rest])
        return np.asarray(chosen, dtype=int)

    # Features -----------------------------------------------------------------------------------

    def _rows(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Content similarity, walk proximity and collaborative score of team ``t`` to every resource,
        computed once per team (retrieval and features both need them)."""
        if self._rows_for is None or self._rows_for[0] != t:
            content = np.asarray((self.team_text[t] @ self.res_text_t).todense()).ravel()
            # Resources are the graph's only items here, in position order.
            walk = self.graph.proximity_scores(t)[: len(self.resource_ids)]
            top = walk.max(initial=0.0)
            start, end = self.use.indptr[t], self.use.indptr[t + 1]
            used = sparse.csr_matrix(
                (np.log1p(self.use.data[start:end]), self.use.indices[start:end], [0, end - start]),
                shape=(1, len(self.resource_ids)),
            )
            neighbours = np.asarray((used @ self.neighbours).todense()).ravel()
            best = neighbours.max(initial=0.0)
            self._rows_for = (
                t,
                content,
                walk / top if top > 0 else walk,
                neighbours / best if best > 0 else neighbours,
            )
        return self._rows_for[1], self._rows_for[2], self._rows_for[3]

    def _tag_row(self, t: int) -> np.ndarray:
        """Tag fit of team ``t`` with every resource."""
        if self._tags_for is None or self._tags_for[0] != t:
            team = _row(self.team_tags, t)
            self._tags_for = (t, np.asarray(self.res_tags @ team).ravel())
        return self._tags_for[1]

    def _content_row(self, t: int) -> np.ndarray:
        return self._rows(t)[0]

    def _walk_row(self, t: int) -> np.ndarray:
        return self._rows(t)[1]

    def features(self, team: str, positions: np.ndarray) -> np.ndarray:
        """The feature matrix (rows: the given resource positions, columns: FEATURES)."""
        t = self.team_pos[team]
        entity = self.data.teams[team]
        stage = entity.meta.get("stage", "")
        content, walk, neighbours = (row[positions] for row in self._rows(t))
        tag_fit = self._tag_row(t)[positions]
        repeat = np.log1p(_row(self.use, t)[positions])
        recent_repeat = np.log1p(_row(self.team_recent, t)[positions])
        shares = self.kind_share.get(stage, {})
        kind_share = np.array([shares.get(k, 0.0) for k in self.kinds[positions]])
        round_fit = np.full(len(positions), NOT_APPLICABLE)
        ticket_fit = np.full(len(positions), NOT_APPLICABLE)
        wanted_round, ask = entity.meta.get("round", ""), _number(entity.meta.get("ask"))
        if wanted_round or ask is not None:
            for i, p in enumerate(positions):
                meta = self.data.resources[self.resource_ids[p]].meta
                if "rounds" in meta and wanted_round:
                    round_fit[i] = 1.0 if wanted_round in meta["rounds"].split(";") else 0.0
                low, high = _number(meta.get("ticket_min")), _number(meta.get("ticket_max"))
                if ask is not None and (low is not None or high is not None):
                    top = high if high is not None else math.inf
                    ticket_fit[i] = 1.0 if (low or 0) <= ask <= top else 0.0
        return np.column_stack(
            [
                content,
                tag_fit,
                walk,
                neighbours,
                repeat,
                recent_repeat,
                self.popularity[positions],
                *(self.recent[w][positions] for w in WINDOWS),
                self.stage_row(team)[positions],
                self.reach[positions],
                kind_share,
                self.quality[positions],
                round_fit,
                ticket_fit,
            ]
        )


def _row(matrix: sparse.csr_matrix, i: int) -> np.ndarray:
    """Row ``i`` of a CSR matrix as a dense array (without building a one-row sparse matrix)."""
    out = np.zeros(matrix.shape[1])
    start, end = matrix.indptr[i], matrix.indptr[i + 1]
    np.add.at(out, matrix.indices[start:end], matrix.data[start:end])
    return out


TextIndex = tuple[sparse.csr_matrix, sparse.csr_matrix, sparse.csr_matrix, TfidfVectorizer, np.ndarray]
# The text index of the last teams and resources seen: the training windows and the validation period
# cut one data set's events many ways but share its entities, whose texts are the costliest part.
_text_cache: list[tuple[object, object, TextIndex]] = []
_text_lock = threading.Lock()


def _text_index(data: Dataset, teams: Sequence[Entity], resources: Sequence[Entity]) -> TextIndex:
    with _text_lock:
        for cached_teams, cached_resources, index in _text_cache:
            if cached_teams is data.teams and cached_resources is data.resources:
                return index
    vectorizer = TfidfVectorizer(analyzer=text_features, sublinear_tf=True, dtype=np.float32)
    matrix = vectorizer.fit_transform([e.text for e in teams] + [e.text for e in resources]).tocsr()
    res_text = matrix[len(teams) :]
    # terms x resources: one team's row times this is fast
    index = (
        matrix[: len(teams)],
        res_text,
        res_text.T.tocsr(),
        vectorizer,
        vectorizer.get_feature_names_out(),
    )
    with _text_lock:
        _text_cache[:] = [(data.teams, data.resources, index)]
    return index


def _item_neighbours(use: sparse.csr_matrix, keep: int) -> sparse.csr_matrix:
    """Item-item cosine similarity of the teams' (log-scaled) use, each item's ``keep`` most similar
    items kept, itself left out: the classic item-based collaborative filter."""
    x = use.copy().tocsc()
    x.data = np.log1p(x.data)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
    inverse = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    x = (x @ sparse.diags(inverse)).tocsc()
    similar = (x.T @ x).tocsr()
    similar.setdiag(0.0)
    similar.eliminate_zeros()
    rows, cols, vals = [], [], []
    for i in range(similar.shape[0]):
        start, end = similar.indptr[i], similar.indptr[i + 1]
        if end == start:
            continue
        data, idx = similar.data[start:end], similar.indices[start:end]
        if end - start > keep:
            top = np.argpartition(-data, keep)[:keep]
            data, idx = data[top], idx[top]
        rows.append(np.full(len(idx), i))
        cols.append(idx)
        vals.append(data)
    if not rows:
        return sparse.csr_matrix(similar.shape)
    return sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=similar.shape
    )


def cold_start_score(x: np.ndarray) -> np.ndarray:
    """The score used before any model is trained: content and graph, a little popularity."""
    return (
        0.45 * x[:, _F["content"]]
        + 0.35 * x[:, _F["tag_fit"]]
        + 0.15 * x[:, _F["walk"]]
        + 0.05 * x[:, _F["popularity"]] / max(float(np.nanmax(x[:, _F["popularity"]], initial=1.0)), 1.0)
    )


def _columns(**weights: float) -> Callable[[np.ndarray], np.ndarray]:
    def score(x: np.ndarray) -> np.ndarray:
        total: np.ndarray = sum((w * x[:, _F[name]] for name, w in weights.items()), np.zeros(len(x)))
        return total

    return score


# The simple scorers a trained model must beat to be served; each is also a baseline of `evaluate`.
# Secondary terms only order what the first one leaves tied.
# In order of preference: a tie on validation goes to the earlier one. Reach comes first since the
# metrics count each team once, as reach does, while use counts let a few heavy users decide.
SIMPLE_SCORERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "reach": _columns(reach=1.0, popularity=0.01),
    "popularity": _columns(popularity=1.0),
    "recent popularity": _columns(popularity_30d=1.0, popularity_90d=0.1, popularity_7d=0.05),
    "stage popularity": _columns(stage_popularity=1.0, popularity_30d=0.1),
    "collaborative": _columns(neighbours=1.0, popularity_90d=0.01),
    "graph walk": _columns(walk=1.0, repeat=1.0),
    "content": _columns(content=1.0, tag_fit=1.0),
    "cold-start score": cold_start_score,
}
TRAINED = "trained model"
SCORERS = (TRAINED, *SIMPLE_SCORERS)
# Scorers whose lists are diversified (maximal marginal relevance over the text).
DIVERSIFIED = frozenset({TRAINED, "cold-start score", "content"})
# Scorer names in Chinese, for pages and reasons.
SCORER_ZH = {
    TRAINED: "训练模型",
    "cold-start score": "冷启动评分（内容与图）",
    "content": "内容匹配",
    "collaborative": "协同过滤（相似资源）",
    "graph walk": "图游走",
    "recent popularity": "近期热门",
    "stage popularity": "同阶段近期热门",
    "popularity": "热门程度",
    "reach": "使用团队数",
}


@dataclass(frozen=True)
class Choice:
    """Which scorer serves one group of teams (warm: with history; cold: without), and why: its mean
    NDCG@10 and every other scorer's on the validation period, over ``teams`` teams."""

    served: str
    validation: Mapping[str, float] = field(default_factory=dict)
    teams: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"served": self.served, "validation": dict(self.validation), "teams": self.teams}


@dataclass(frozen=True)
class Selection:
    warm: Choice
    cold: Choice

    def to_json(self) -> dict[str, Any]:
        return {"warm": self.warm.to_json(), "cold": self.cold.to_json()}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Selection:
        def choice(part: Mapping[str, Any]) -> Choice:
            served = str(part["served"])
            if served not in SCORERS:
                raise ValueError(f"unknown scorer {served!r}")
            validation = {str(k): float(v) for k, v in dict(part.get("validation", {})).items()}
            return Choice(served, validation, int(part.get("teams", 0)))

        return cls(choice(raw["warm"]), choice(raw["cold"]))


class Ranker:
    """Retrieve, re-rank, explain. Which scorer ranks a team follows ``selection`` (chosen on a
    validation period, separately for warm and cold teams); without one, the trained ``model`` serves
    when there is one and the cold-start score otherwise."""

    def __init__(
        self,
        signals: Signals,
        model: HistGradientBoostingClassifier | None = None,
        selection: Selection | None = None,
    ) -> None:
        self.signals = signals
        self.model = model
        if (
            selection is not None
            and model is None
            and TRAINED in (selection.warm.served, selection.cold.served)
        ):
            raise ValueError("the selection serves the trained model, but there is none")
        self.selection = selection
        self._plans: dict[tuple[str, tuple[str, ...], int], dict[str, list[str]]] = {}
        self._plans_lock = threading.Lock()

    @property
    def mode(self) -> str:
        """The scorer serving teams with history (see :meth:`served_by` for one team)."""
        if self.selection is not None:
            return self.selection.warm.served
        return TRAINED if self.model is not None else "cold-start score"

    def served_by(self, team: str) -> str:
        """The scorer that ranks this team's lists."""
        if self.selection is None:
            return self.mode
        warm = self.signals.is_warm(team)
        return (self.selection.warm if warm else self.selection.cold).served

    def describe(self) -> dict[str, Any]:
        """What serves whom and on which validation figures (for the API and `evaluate`)."""
        if self.selection is not None:
            return {"selected_on_validation": True, **self.selection.to_json()}
        return {
            "selected_on_validation": False,
            "warm": {"served": self.mode, "validation": {}, "teams": 0},
            "cold": {"served": self.mode, "validation": {}, "teams": 0},
        }

    def pool(self, team: str) -> np.ndarray:
        """The resources a team may use: those of its own space when spaces are known."""
        s = self.signals
        space = s.data.teams[team].meta.get("space")
        if not space:
            return np.arange(len(s.resource_ids))
        return s.space_pools.get(space, s.shared_pool)

    def scorer(self, name: str) -> Callable[[np.ndarray], np.ndarray]:
        if name == TRAINED:
            model = self.model
            if model is None:
                raise ValueError("no trained model")

            def predict(x: np.ndarray) -> np.ndarray:
                with _one_thread():
                    predicted: np.ndarray = model.predict_proba(x)[:, 1]
                    return predicted

            return predict
        return SIMPLE_SCORERS[name]

    def score(self, team: str, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = self.signals.features(team, positions)
        return self.scorer(self.served_by(team))(x), x

    def rank(self, team: str, *, kinds: Sequence[str] = (), limit: int | None = None) -> list[str]:
        """Resource ids for the team, best first (all retrieved candidates unless ``limit``)."""
        return [r.resource for r in self.recommend(team, kinds=kinds, k=limit, explain=False)]

    def recommend(
        self,
        team: str,
        *,
        kinds: Sequence[str] = (),
        k: int | None = 10,
        explain: bool = True,
        fair: bool = False,
        exclude_seen: bool = False,
    ) -> list[Recommendation]:
        """The team's best ``k`` (diversified for the scorers that read text). With ``fair``, the list
        is the team's share of its space's exposure-capped plan (see :mod:`matchmaker.exposure`); with
        ``exclude_seen``, only resources the team has not used are retrieved."""
        s = self.signals
        if team not in s.team_pos:
            return []
        pool = self.pool(team)
        if kinds:
            pool = pool[np.isin(s.kinds[pool], list(kinds))]
        if exclude_seen:
            pool = s.unseen(team, pool)
        positions = s.candidates(team, pool)
        name = self.served_by(team)
        predict = self.scorer(name)
        x = s.features(team, positions)
        scores = predict(x)
        if fair and k is not None:
            kept = set(self.fair_plan(team, kinds=kinds, k=k))
            wide = self._ordered(name, positions, scores, exposure.WIDTH * k)
            order = np.array([i for i in wide if s.resource_ids[positions[i]] in kept][:k], dtype=int)
        else:
            order = self._ordered(name, positions, scores, k if k is not None else len(positions))
        reasons = (
            self._reasons(team, predict, positions[order], x[order], scores[order], _neutral(x))
            if explain
            else [()] * len(order)
        )
        return [
            Recommendation(s.resource_ids[positions[i]], float(scores[i]), reasons[n])
            for n, i in enumerate(order)
        ]

    def _ordered(self, name: str, positions: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
        if name in DIVERSIFIED:
            return self._diversified(positions, scores, k)
        return self.signals.order(positions, scores)[:k]

    def fair_plan(self, team: str, *, kinds: Sequence[str] = (), k: int = 10) -> list[str]:
        """The team's items in its space's exposure-capped plan, made once per space, kinds and k for
        this state of the data: every team of the space is ranked, then the plan is solved."""
        space = self.signals.data.teams[team].meta.get("space", "")
        key = (space, tuple(sorted(kinds)), k)
        with self._plans_lock:
            plan = self._plans.get(key)
            if plan is None:
                members = [
                    t
                    for t in self.signals.team_ids
                    if self.signals.data.teams[t].meta.get("space", "") == space
                ]
                lists = {
                    t: [
                        (r.resource, r.score)
                        for r in self.recommend(t, kinds=kinds, k=exposure.WIDTH * k, explain=False)
                    ]
                    for t in members
                }
                plan = exposure.capped_lists(lists, k)
                self._plans[key] = plan
        return plan.get(team, [])

    def explain_absence(self, team: str, resource: str, *, k: int = 10) -> dict[str, object]:
        """Why a resource the user names is not (or is) among the team's top ``k``: its rank in the
        team's whole pool, and the features on which it trails the last recommendation shown (only
        features that apply to the resource: a microscope is never held back by a fund's round)."""
        s = self.signals
        if team not in s.team_pos or resource not in s.res_pos:
            return {"resource": resource, "rank": None, "held_back_by": []}
        pool = self.pool(team)
        target = s.res_pos[resource]
        if target not in set(pool.tolist()):
            other = Reason("space", "It belongs to another space", "它属于其他空间")
            return {"resource": resource, "rank": None, "held_back_by": [other]}
        predict = self.scorer(self.served_by(team))
        x = s.features(team, pool)
        scores = predict(x)
        order = s.order(pool, scores)
        where = int(np.flatnonzero(pool[order] == target)[0])
        cutoff = order[min(k, len(order)) - 1]
        row = int(np.flatnonzero(pool == target)[0])
        held_back: list[Reason] = []
        if where >= k:
            # Give the resource the cut-off item's value of one feature at a time: the features whose
            # swap would raise its score most are the ones holding it back.
            batch = np.repeat(x[row : row + 1], len(FEATURES), axis=0)
            for j in range(len(FEATURES)):
                batch[j, j] = x[cutoff, j]
            gains = predict(batch) - scores[row]
            applies = x[row] != NOT_APPLICABLE
            for j in np.argsort(-gains, kind="stable")[:4]:
                if gains[j] > 1e-6 and applies[j] and len(held_back) < 2:
                    held_back.append(_held_back(FEATURES[j], x[row, j], x[cutoff, j]))
        return {
            "resource": resource,
            "rank": where + 1,
            "of": len(pool),
            "score": float(scores[row]),
            "cutoff_score": float(scores[cutoff]),
            "held_back_by": held_back,
        }

    def teams_for(self, resource: str, *, k: int = 10) -> list[Recommendation]:
        """Teams for a mentor, an investor or a task owner. Both sides must want the match, so the
        score is the harmonic mean of the team's side (the ranking score) and the resource's side
        (how well the team fits the resource's expertise, and for funds its round and ticket). Teams
        that have left (exited) are never suggested."""
        s = self.signals
        if resource not in s.res_pos:
            return []
        position = np.array([s.res_pos[resource]])
        space = s.data.resources[resource].meta.get("space")
        teams = [
            t
            for t in s.team_ids
            if (not space or s.data.teams[t].meta.get("space") in (space, None))
            and s.data.teams[t].meta.get("stage") not in GONE_STAGES
        ]
        if not teams:
            return []
        x = np.vstack([s.features(t, position) for t in teams])
        team_side, resource_side = self._sides(x)
        both = _harmonic(team_side, resource_side)
        order = np.lexsort((np.arange(len(teams)), -both))[:k]
        return [
            Recommendation(
                teams[i],
                float(both[i]),
                _team_reasons(s.data.teams[teams[i]], s.data.resources[resource], x[i], s.tag_labels),
                (float(team_side[i]), float(resource_side[i])),
            )
            for i in order
            if both[i] > 0
        ]

    def both_sides(self, team: str, resources: Sequence[str]) -> dict[str, float]:
        """How well a team and each named resource fit, as both sides see it (the harmonic mean used
        for mentors and investors), in [0, 1]; what allocation rounds maximise."""
        s = self.signals
        known = [r for r in resources if r in s.res_pos]
        if team not in s.team_pos or not known:
            return {}
        x = s.features(team, np.array([s.res_pos[r] for r in known]))
        return {r: float(v) for r, v in zip(known, self._both_sides(x), strict=True)}

    def _both_sides(self, x: np.ndarray) -> np.ndarray:
        """Rows of pair features → the harmonic mean of the two sides (see :meth:`_sides`)."""
        return _harmonic(*self._sides(x))

    def _sides(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows of pair features → the team's side (its fit score, in [0, 1]) and the resource's side
        (content and tag fit, and for funds the round and ticket)."""
        team_side = np.clip(self._fit(x), 0.0, 1.0)
        content = x[:, _F["content"]]
        fit = 0.5 * content / max(float(content.max()), 1e-9) + 0.5 * x[:, _F["tag_fit"]]
        for name in ("round_fit", "ticket_fit"):
            column = x[:, _F[name]]
            fit = np.where(column >= 0, fit * (0.5 + 0.5 * column), fit)
        return team_side, np.clip(fit, 0.0, 1.0)

    def _fit(self, x: np.ndarray) -> np.ndarray:
        """A fit score in [0, 1] for pairs (the trained model's probability, else the cold-start score)."""
        if self.model is not None:
            return self.scorer(TRAINED)(x)
        return cold_start_score(x)

    def _diversified(self, positions: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
        """Best-first order, diversified (maximal marginal relevance): each next pick trades a little
        score for being unlike what is already on the list, so a page is not five near-identical
        instruments. Only the head of the list is re-ordered; the tail stays by score."""
        order = self.signals.order(positions, scores)
        head = order[: min(len(order), max(3 * k, 30))]
        if len(head) <= 1 or DIVERSITY == 0:
            return order[:k]
        vectors = self.signals.res_text[positions[head]]
        similarity = (vectors @ vectors.T).toarray()
        low = float(scores[head].min())
        relevance = (scores[head] - low) / max(float(scores[head].max()) - low, 1e-9)
        chosen: list[int] = []
        closest = np.zeros(len(head))
        available = np.ones(len(head), dtype=bool)
        while len(chosen) < min(k, len(head)):
            value = np.where(available, (1 - DIVERSITY) * relevance - DIVERSITY * closest, -np.inf)
            pick = int(np.argmax(value))
            chosen.append(pick)
            available[pick] = False
            closest = np.maximum(closest, similarity[pick])
        picked = set(head[chosen].tolist())
        rest = [i for i in order if i not in picked]
        return np.concatenate([head[chosen], np.array(rest, dtype=int)])[:k]

    def _reasons(
        self,
        team: str,
        predict: Callable[[np.ndarray], np.ndarray],
        positions: np.ndarray,
        x: np.ndarray,
        scores: np.ndarray,
        neutral: np.ndarray,
        top: int = 3,
    ) -> list[tuple[Reason, ...]]:
        """The features that drove each score, found by replacing one feature at a time with its typical
        value among all the candidates (``neutral``) and measuring how far the score falls. Only
        features that raised the score, and that apply to the resource, are named."""
        batch = np.repeat(x, len(FEATURES), axis=0)
        for j in range(len(FEATURES)):
            batch[j :: len(FEATURES), j] = neutral[j]
        ablated = predict(batch)
        drops = scores[:, None] - ablated.reshape(len(positions), len(FEATURES))
        drops[x == NOT_APPLICABLE] = 0.0
        out = []
        for row, position in enumerate(positions):
            best = [j for j in np.argsort(-drops[row], kind="stable")[:top] if drops[row, j] > 1e-6]
            reasons = (self._reason(team, int(position), FEATURES[j], x[row, j]) for j in best)
            out.append(tuple(r for r in reasons if r is not None))
        return out

    def _reason(self, team: str, position: int, feature: str, value: float) -> Reason | None:
        s = self.signals
        resource = s.data.resources[s.resource_ids[position]]
        entity = s.data.teams[team]
        if feature == "tag_fit":
            shared = sorted(entity.tags & resource.tags)[:3]
            if not shared:
                return None
            en = ", ".join(s.tag_labels.get(t, (t, t))[0] for t in shared)
            zh = "、".join(s.tag_labels.get(t, (t, t))[1] for t in shared)
            return Reason(feature, f"Shared capabilities: {en}", f"共同能力：{zh}")
        if feature == "content":
            words = self._shared_words(team, position)
            if not words:
                return Reason(feature, "Its description is close to your needs", "其介绍与您的需求相近")
            return Reason(
                feature,
                f"Your needs and its description both mention {', '.join(words)}",
                f"需求与其介绍都提到：{'、'.join(words)}",
            )
        if feature == "walk":
            return Reason(feature, "Used by teams who use what you use", "与您使用相同资源的团队也在使用")
        if feature == "neighbours":
            return Reason(
                feature, "Often used together with what your team uses", "常与贵团队使用的资源一起被使用"
            )
        if feature == "repeat":
            return Reason(feature, "Your team has used it before", "贵团队曾使用过")
        if feature == "recent_repeat":
            return Reason(
                feature,
                f"Your team used it in the last {RECENT_DAYS} days",
                f"贵团队近 {RECENT_DAYS} 天使用过",
            )
        if feature == "popularity":
            return Reason(feature, "In steady demand", "需求一直旺盛")
        if feature == "reach":
            teams = round(math.expm1(value))
            return Reason(feature, f"Used by {teams} teams", f"已有 {teams} 个团队使用")
        if feature.startswith("popularity_"):
            days = int(feature.removeprefix("popularity_").removesuffix("d"))
            uses = round(math.expm1(value))
            return Reason(
                feature,
                f"In demand in the last {days} days ({uses} uses)",
                f"近 {days} 天需求旺盛（使用 {uses} 次）",
            )
        if feature in ("stage_popularity", "kind_share"):
            stage = entity.meta.get("stage", "")
            if not stage:
                return Reason(feature, "Much used by teams lately", "近期团队使用较多")
            en_stage, zh_stage = _STAGES.get(stage, (stage, stage))
            if feature == "kind_share":
                return Reason(feature, f"Often used by {en_stage} teams", f"{zh_stage}阶段的团队常用")
            return Reason(feature, f"Much used by {en_stage} teams lately", f"{zh_stage}阶段的团队近期常用")
        if feature == "quality":
            return Reason(
                feature,
                f"Good outcomes so far (average {value:.1f} of 3)",
                f"以往效果良好（平均 {value:.1f}/3）",
            )
        if feature == "round_fit":
            wanted = entity.meta.get("round", "")
            return Reason(feature, f"Invests in {wanted} rounds like yours", f"投资与您相同的{wanted}轮次")
        return Reason(feature, "Your ask fits its ticket size", "您的融资额在其投资范围内")

    def _shared_words(self, team: str, position: int) -> list[str]:
        """The closest phrases: the heaviest terms both texts share. English words are whole words
        (never stop words or bare numbers); Chinese character pairs are shown only when they are a
        known capability term, since a pair cut out of a longer word reads as nonsense."""
        s = self.signals
        t = s.team_pos[team]
        a, b = s.team_text, s.res_text
        a_idx, a_val = a.indices[a.indptr[t] : a.indptr[t + 1]], a.data[a.indptr[t] : a.indptr[t + 1]]
        b_idx = b.indices[b.indptr[position] : b.indptr[position + 1]]
        b_val = b.data[b.indptr[position] : b.indptr[position + 1]]
        shared, ia, ib = np.intersect1d(a_idx, b_idx, assume_unique=True, return_indices=True)
        weights = a_val[ia] * b_val[ib]
        names = s.term_names
        words: list[str] = []
        for i in shared[np.argsort(-weights, kind="stable")]:
            term = str(names[i])
            word = term[2:] if term.startswith("w:") and len(term) > 4 else ""
            if word in STOP_WORDS or _NUMBER.fullmatch(word):
                word = ""
            if not term.startswith(("w:", "t:")) and term in s.known_terms:
                word = term
            if word and word not in words:
                words.append(word)
            if len(words) == 3:
                break
        return words


# Words that say nothing about fit, however often two texts share them.
_STOP_TEXT = """about after also among and any are because been before being both but can could does each
    for from had has have here how into its more most must not only other our out over own same
    should some such than that the their them then there these they this those through too under
    very was were what when where which while who why will with would you your yours we us
    team teams company our ours use used using provide provides service services"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
_NUMBER = re.compile(r"[0-9][0-9.+#-]*")
# Stages a mentor or investor is never offered (the team has left the space).
GONE_STAGES = frozenset({"exited"})
_STAGES = {
    "nursery": ("nursery", "创业苗圃"),
    "incubator": ("incubator", "孵化器"),
    "accelerator": ("accelerator", "加速器"),
    "graduated": ("graduated", "已毕业"),
    "exited": ("exited", "已退出"),
}

_FEATURE_NAMES = {
    "content": ("wording of your needs", "需求描述的契合度"),
    "tag_fit": ("shared capabilities", "共同能力"),
    "walk": ("use by teams like yours", "相似团队的使用情况"),
    "neighbours": ("use together with what you use", "与您所用资源的共同使用"),
    "repeat": ("your own past use", "贵团队的使用记录"),
    "recent_repeat": ("your own recent use", "贵团队近期的使用"),
    "popularity": ("demand", "需求"),
    "popularity_7d": ("demand in the last 7 days", "近 7 天需求"),
    "popularity_30d": ("demand in the last 30 days", "近 30 天需求"),
    "popularity_90d": ("demand in the last 90 days", "近 90 天需求"),
    "stage_popularity": ("recent use by teams at your stage", "同阶段团队的近期使用"),
    "reach": ("how many teams use it", "使用团队数"),
    "kind_share": ("fit with your stage", "与所处阶段的匹配"),
    "quality": ("outcomes so far", "以往效果"),
    "round_fit": ("the round it invests in", "投资轮次"),
    "ticket_fit": ("its ticket size", "投资金额范围"),
}


def _harmonic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    both: np.ndarray = np.clip(2 * a * b / np.maximum(a + b, 1e-9), 0.0, 1.0)
    return both


def _held_back(feature: str, value: float, cutoff: float) -> Reason:
    en, zh = _FEATURE_NAMES[feature]
    return Reason(
        feature, f"Lower on {en} ({value:.2f} vs {cutoff:.2f})", f"{zh}较低（{value:.2f}，对比 {cutoff:.2f}）"
    )


def _team_reasons(
    team: Entity, resource: Entity, x: np.ndarray, labels: Mapping[str, tuple[str, str]]
) -> tuple[Reason, ...]:
    """Why a team fits a resource, worded for the resource's side."""
    out = []
    shared = sorted(team.tags & resource.tags)[:3]
    if shared:
        en = ", ".join(labels.get(t, (t, t))[0] for t in shared)
        zh = "、".join(labels.get(t, (t, t))[1] for t in shared)
        out.append(Reason("tag_fit", f"Shared capabilities: {en}", f"共同能力：{zh}"))
    if x[_F["round_fit"]] == 1:
        wanted = team.meta.get("round", "")
        out.append(
            Reason("round_fit", f"Seeks a {wanted} round you invest in", f"正在寻求您投资的{wanted}轮")
        )
    if x[_F["ticket_fit"]] == 1:
        out.append(Reason("ticket_fit", "Its ask fits your ticket size", "融资需求在您的投资范围内"))
    if x[_F["repeat"]] > 0:
        out.append(Reason("repeat", "Has worked with you before", "曾与您合作"))
    stage = team.meta.get("stage", "")
    if stage:
        en_stage, zh_stage = _STAGES.get(stage, (stage, stage))
        out.append(Reason("stage", f"At the {en_stage} stage", f"处于{zh_stage}阶段"))
    return tuple(out[:3])


ABSENT = np.array([0.0] * _F["quality"] + [NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE])


def _neutral(x: np.ndarray) -> np.ndarray:
    """The typical value of each feature: its median over the candidates, or, when there are too few
    candidates to say what is typical, the value meaning "no such signal"."""
    if len(x) < 5:
        return ABSENT
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        neutral: np.ndarray = np.nan_to_num(np.nanmedian(x, axis=0), nan=0.0)
        return neutral


_controller: Any = None


def _one_thread() -> Any:
    """Numeric libraries on one thread (a busy 2-core host is faster so); the controller is made once,
    since inspecting the loaded libraries costs milliseconds per call."""
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=1)


# Training ------------------------------------------------------------------------------------------
#
# Each training window cuts the history: features come from the events before the cut, labels from
# the slice after it (did the team have a positive outcome with the resource?). The negatives are
# drawn to match what the model ranks when it serves, without teaching it that "being retrieved"
# means "not wanted":
#   - UNIFORM_NEGATIVES per team drawn uniformly from the team's whole eligible pool (its space's
#     resources), so popular and unpopular resources appear as negatives as often as they exist, and
#     popularity and recency are learnt as what they are (signals for, not against);
#   - HARD_NEGATIVES per team drawn from the retrieved candidates (the close calls the model must
#     order at serving time), each weighted HARD_WEIGHT, so they sharpen the order among good
#     candidates without outweighing the catalogue.
# A positive weighs 1. At most MAX_TEAMS_PER_WINDOW teams (a random sample) give pairs per window.
# Cuts of the history, as the share of events after each; a window's labels run to the next cut.
TRAIN_WINDOWS = (0.6, 0.45, 0.3, 0.15)
UNIFORM_NEGATIVES = 50
HARD_NEGATIVES = 25
HARD_WEIGHT = 0.5
MAX_TEAMS_PER_WINDOW = 1500
Pairs = tuple[np.ndarray, np.ndarray, np.ndarray]


def _windows(data: Dataset, fractions: Sequence[float]) -> list[tuple[Dataset, Dataset]]:
    """(older, newer) per cut: the events before it, and those from it to the next cut (the last to
    the end). Cuts are placed as :func:`time_split` places them."""
    events = sorted(data.events, key=lambda e: e.at)
    n = len(events)
    if n < 2:
        return []
    cuts = [events[n - min(n - 1, max(1, round(n * f)))].at for f in sorted(fractions, reverse=True)]
    out = []
    for i, cut in enumerate(cuts):
        end = cuts[i + 1] if i + 1 < len(cuts) else None
        older = tuple(e for e in events if e.at < cut)
        newer = tuple(e for e in events if e.at >= cut and (end is None or e.at < end))
        out.append((data.with_events(older), data.with_events(newer)))
    return out


def training_pairs(data: Dataset, *, windows: Sequence[float] = TRAIN_WINDOWS[1:], seed: int = 0) -> Pairs:
    """Features, labels and sample weights over rolling windows (see the notes above)."""
    return _stack([_window(older, newer, seed=seed)[1] for older, newer in _windows(data, windows)])


def _stack(parts: Sequence[Pairs]) -> Pairs:
    if not parts:
        return np.zeros((0, len(FEATURES))), np.zeros(0), np.zeros(0)
    return (
        np.vstack([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )


def negative_sample(
    rng: np.random.Generator, pool: np.ndarray, retrieved: np.ndarray, wanted: set[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Negative positions and their weights for one team: uniform from ``pool`` and hard from
    ``retrieved``, never one of the ``wanted`` (positive) positions."""
    mask = ~np.isin(pool, list(wanted))
    eligible = pool[mask]
    uniform = rng.choice(eligible, size=min(UNIFORM_NEGATIVES, len(eligible)), replace=False)
    close = retrieved[~np.isin(retrieved, list(wanted)) & ~np.isin(retrieved, uniform)]
    hard = rng.choice(close, size=min(HARD_NEGATIVES, len(close)), replace=False)
    weights = np.concatenate([np.ones(len(uniform)), np.full(len(hard), HARD_WEIGHT)])
    return np.concatenate([uniform, hard]).astype(int), weights


def _window_pairs(older: Dataset, newer: Dataset, *, seed: int) -> Pairs:
    return _window(older, newer, seed=seed)[1]


def _window(older: Dataset, newer: Dataset, *, seed: int) -> tuple[Signals, Pairs]:
    """The signals of ``older`` and the training pairs its teams' positives in ``newer`` give."""
    signals = Signals(older)
    ranker = Ranker(signals)
    rng = np.random.default_rng(seed)
    xs, ys, ws = [], [], []
    teams = sorted(t for t in newer.positives() if t in signals.team_pos)
    if len(teams) > MAX_TEAMS_PER_WINDOW:
        teams = sorted(rng.choice(teams, size=MAX_TEAMS_PER_WINDOW, replace=False).tolist())
    positives = newer.positives()
    for team in teams:
        pool = ranker.pool(team)
        wanted = {signals.res_pos[r] for r in positives[team] if r in signals.res_pos} & set(pool.tolist())
        if not wanted or len(wanted) == len(pool):
            continue
        negatives, weights = negative_sample(rng, pool, signals.candidates(team, pool), wanted)
        pos = np.array(sorted(wanted), dtype=int)
        xs.append(signals.features(team, np.concatenate([pos, negatives])))
        ys.append(np.concatenate([np.ones(len(pos)), np.zeros(len(negatives))]))
        ws.append(np.concatenate([np.ones(len(pos)), weights]))
    if not xs:
        return signals, (np.zeros((0, len(FEATURES))), np.zeros(0), np.zeros(0))
    return signals, (np.vstack(xs), np.concatenate(ys), np.concatenate(ws))


def fit_model(data: Dataset, *, seed: int = 0) -> HistGradientBoostingClassifier | None:
    """The re-ranking model fitted on ``data``'s rolling windows, or None with too little to learn."""
    return _fit(training_pairs(data, seed=seed), seed=seed)


def _fit(pairs: Pairs, *, seed: int) -> HistGradientBoostingClassifier | None:
    x, y, w = pairs
    if len(set(y.tolist())) < 2 or int(y.sum()) < 20:
        return None
    # Small, regularised trees: a few thousand positives at demo scale.
    model = HistGradientBoostingClassifier(
        max_iter=80,
        learning_rate=0.08,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        random_state=seed,
    )
    with _one_thread():
        model.fit(x, y, sample_weight=w)
    return model


def validate(
    ranker: Ranker,
    later: Dataset,
    teams: Sequence[str],
    *,
    k: int = 10,
    exclude_seen: bool = False,
) -> dict[str, np.ndarray]:
    """Every scorer's NDCG@k per team on ``later``'s positives of ``teams`` (teams with nothing
    positive in their pool are left out), each team's list ranked from the same candidates and
    ordered as it would be served."""
    s = ranker.signals
    relevance = later.positives()
    names = [n for n in SCORERS if n != TRAINED or ranker.model is not None]
    found: dict[str, list[float]] = {name: [] for name in names}
    for team in teams:
        pool = s.unseen(team, ranker.pool(team)) if exclude_seen else ranker.pool(team)
        allowed = {s.resource_ids[p] for p in pool}
        wanted = {r: v for r, v in relevance.get(team, {}).items() if r in allowed}
        if not wanted:
            continue
        positions = s.candidates(team, pool)
        x = s.features(team, positions)
        for name in names:
            scores = ranker.scorer(name)(x)
            order = ranker._ordered(name, positions, scores, k)
            ranked = [s.resource_ids[p] for p in positions[order]]
            found[name].append(ndcg_at_k(ranked, wanted, k))
    return {name: np.array(values) for name, values in found.items() if values}


def _choose(per_team: Mapping[str, np.ndarray], fallback: str) -> Choice:
    """The simplest scorer whose mean NDCG on validation is within noise of the best one's (two
    standard errors of the paired per-team difference): a simpler scorer that is as good as far as
    the validation period can tell is the safer one to serve, since its advantage cannot be luck."""
    if not per_team:
        return Choice(fallback)
    means = {name: float(values.mean()) for name, values in per_team.items()}
    best = max(means, key=lambda n: means[n])
    served = best
    for name in (*SIMPLE_SCORERS, TRAINED):
        if name not in per_team:
            continue
        gap = per_team[best] - per_team[name]
        noise = 2 * float(gap.std(ddof=1)) / math.sqrt(len(gap)) if len(gap) > 1 else 0.0
        if float(gap.mean()) <= noise:
            served = name
            break
    return Choice(served, means, len(per_team[best]))


def select(
    data: Dataset, *, seed: int = 0, exclude_seen: bool = False, validation: float = VALIDATION
) -> tuple[Selection, HistGradientBoostingClassifier | None]:
    """Choose the scorer that serves warm and cold teams: fit the model on the history before the
    validation period, score every scorer on the period, keep per group the simplest one within noise
    of the best (see :func:`_choose`). Cold teams are those without history before the period; when
    there are few, a quarter of the warm ones have their history hidden to stand in for them. Returns
    the choice and the model fitted before the period (None when there was too little to fit)."""
    earlier, later = time_split(data, validation)
    model = fit_model(earlier, seed=seed)
    return _select(earlier, later, Signals(earlier), model, seed=seed, exclude_seen=exclude_seen), model


def _select(
    earlier: Dataset,
    later: Dataset,
    signals: Signals,
    model: HistGradientBoostingClassifier | None,
    *,
    seed: int,
    exclude_seen: bool,
) -> Selection:
    rng = random.Random(seed)  # noqa: S311 -- a sample of teams, not a secret
    evaluated = sorted(t for t in later.positives() if t in signals.team_pos)
    warm = [t for t in evaluated if signals.is_warm(t)]
    cold = [t for t in evaluated if not signals.is_warm(t)]
    hidden: list[str] = []
    if len(cold) < 30 and len(warm) >= 8:
        hidden = sorted(rng.sample(warm, round(len(warm) * COLD_FRACTION)))
        warm = [t for t in warm if t not in set(hidden)]
    warm = _at_most(rng, warm, MAX_VALIDATION_TEAMS)
    cold = _at_most(rng, cold + hidden, MAX_VALIDATION_TEAMS)
    warm_scores = validate(Ranker(signals, model), later, warm, exclude_seen=exclude_seen)
    cold_signals = signals
    if hidden:
        gone = set(hidden)
        cold_signals = Signals(earlier.with_events(tuple(e for e in earlier.events if e.team not in gone)))
    cold_scores = validate(Ranker(cold_signals, model), later, cold, exclude_seen=exclude_seen)
    fallback = TRAINED if model is not None else "cold-start score"
    return Selection(_choose(warm_scores, fallback), _choose(cold_scores, "cold-start score"))


def _at_most(rng: random.Random, teams: list[str], n: int) -> list[str]:
    return sorted(rng.sample(teams, n)) if len(teams) > n else teams


def train(
    data: Dataset,
    *,
    seed: int = 0,
    exclude_seen: bool = False,
    tag_labels: Mapping[str, tuple[str, str]] | None = None,
) -> Ranker:
    """Choose the serving scorers on a validation period (see :func:`select`), fit the model on all of
    ``data`` (it serves the groups that chose it, and both-sides fit for mentors and investors), and
    return a ranker serving from all of it.

    The training windows are cut once and shared: the model judged on the validation period learns
    from the first three (their labels end where the period starts), the model served from the last
    three; the last window's older part is the history before the period, so its signals serve the
    validation too."""
    windows = _windows(data, TRAIN_WINDOWS)
    if len(windows) < len(TRAIN_WINDOWS):
        selection, _ = select(data, seed=seed, exclude_seen=exclude_seen)
        model = fit_model(data, seed=seed)
    else:
        built = [_window(older, newer, seed=seed) for older, newer in windows]
        earlier, later = windows[-1]
        before = _fit(_stack([pairs for _, pairs in built[:-1]]), seed=seed)
        selection = _select(earlier, later, built[-1][0], before, seed=seed, exclude_seen=exclude_seen)
        model = _fit(_stack([pairs for _, pairs in built[1:]]), seed=seed)
    if model is None and TRAINED in (selection.warm.served, selection.cold.served):
        # Cannot happen with more data than the fit before the validation period had; be safe anyway.
        selection = Selection(
            Choice("cold-start score", selection.warm.validation, selection.warm.teams),
            Choice("cold-start score", selection.cold.validation, selection.cold.teams),
        )
    return Ranker(Signals(data, tag_labels=tag_labels), model, selection)


MODEL_FORMAT = 2


def save_model(ranker: Ranker, folder: Path, *, trained_on: str) -> Path:
    """Write the model (if one serves) and the selection with its validation figures as
    ``ranker-<time>.pkl`` and ``.json``; versioned by time, so earlier ones stay for rollback."""
    if ranker.selection is None and ranker.model is None:
        raise ValueError("nothing to save: the ranker has no trained model and no selection")
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"ranker-{stamp}.pkl"
    path.write_bytes(pickle.dumps(ranker.model))
    meta = {
        "format": MODEL_FORMAT,
        "features": list(FEATURES),
        "created_at": stamp,
        "trained_on": trained_on,
        "teams": len(ranker.signals.team_ids),
        "resources": len(ranker.signals.resource_ids),
        "events": len(ranker.signals.data.events),
        "selection": ranker.describe(),
    }
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    return path


def load_latest_model(
    folder: Path,
) -> tuple[HistGradientBoostingClassifier | None, Selection | None, dict[str, Any]] | None:
    """The newest saved model and selection whose features match this code's, or None (the cold-start
    score serves then).

    Only files the platform itself wrote into its instance folder are ever loaded.
    """
    for path in sorted(folder.glob("ranker-*.pkl"), reverse=True):
        meta_path = path.with_suffix(".json")
        if not meta_path.exists():
            continue
        meta = json.loads(meta_path.read_text())
        if meta.get("format") == MODEL_FORMAT and meta.get("features") == list(FEATURES):
            model = pickle.loads(path.read_bytes())  # noqa: S301  (our own file, see above)
            raw = meta.get("selection") or {}
            selection = Selection.from_json(raw) if raw.get("selected_on_validation") else None
            return model, selection, meta
    return None


def _normalised_rows(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    inverse = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return (sparse.diags(inverse) @ matrix).tocsr()


def _binary(entities: Sequence[object], positions: Mapping[str, int]) -> sparse.csr_matrix:
    rows, cols = [], []
    for i, entity in enumerate(entities):
        for tag in entity.tags:  # type: ignore[attr-defined]
            rows.append(i)
            cols.append(positions[tag])
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(entities), len(positions)))


def _number(raw: str | None) -> float | None:
    try:
        return float(raw) if raw not in (None, "") else None
    except ValueError:
        return None
