"""Two-stage ranking: retrieve candidates by content, graph and popularity, re-rank them with a learned
model over pair features, and explain each recommendation by the features that drove it."""

from __future__ import annotations

import json
import math
import pickle
import threading
import warnings
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
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
from matchmaker.graph import Interaction, InteractionGraph
from matchmaker.text import features as text_features

# The pair features, in the model's column order. Each has a reason template (see REASONS).
FEATURES = (
    "content",  # TF-IDF cosine of the team's words and the resource's, both languages
    "tag_fit",  # cosine of the two capability-tag sets
    "walk",  # RP3beta proximity in the interaction graph, scaled to the team's best
    "repeat",  # the team's own decayed use of this resource
    "popularity",  # decayed use by everybody (log scale)
    "kind_share",  # how much teams at this stage use this kind of resource
    "quality",  # the resource's mean outcome label so far
    "round_fit",  # a fund invests in the round the team seeks (1/0; -1 for other kinds)
    "ticket_fit",  # the team's ask lies in the fund's ticket range (1/0; -1 otherwise)
)
RETRIEVE = 200  # candidates re-ranked per query
# "Does not apply" (a mentor has no ticket range; an unused resource has no record yet). A value below
# every real one rather than NaN: the trees split on it just the same, and columns are never all-NaN.
NOT_APPLICABLE = -1.0
# How much a recommendation list trades score for variety (0: none). Measured on the demo history:
# see README, "Matching", for NDCG and exposure with and without it.
DIVERSITY = 0.2
HALF_LIFE_DAYS = 180.0


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

        # Content: one vocabulary over both sides, so a team's needs and a resource's description meet.
        vectorizer = TfidfVectorizer(analyzer=text_features, sublinear_tf=True, dtype=np.float32)
        matrix = vectorizer.fit_transform([e.text for e in teams] + [e.text for e in resources]).tocsr()
        self.team_text = matrix[: len(teams)]
        self.res_text = matrix[len(teams) :]
        self.res_text_t = self.res_text.T.tocsr()  # terms x resources: one team's row times this is fast
        self.vectorizer = vectorizer
        self.term_names = vectorizer.get_feature_names_out()
        # Each space's resource positions (resources without a space are open to every space).
        open_to_all = [i for i, r in enumerate(resources) if not r.meta.get("space")]
        by_space: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(resources):
            if r.meta.get("space"):
                by_space[r.meta["space"]].append(i)
        self.space_pools = {space: np.array(sorted(ids + open_to_all)) for space, ids in by_space.items()}
        self.shared_pool = np.array(open_to_all, dtype=int)
        self._rows_for: tuple[int, np.ndarray, np.ndarray] | None = None

        tags = sorted({t for e in teams + resources for t in e.tags})
        tag_pos = {t: i for i, t in enumerate(tags)}
        self.team_tags = _normalised_rows(_binary(teams, tag_pos))
        self.res_tags = _normalised_rows(_binary(resources, tag_pos))

        self.graph = InteractionGraph(
            range(len(teams)),
            range(len(resources)),
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
                for e in data.events
                if e.team in self.team_pos and e.resource in self.res_pos
            ),
            now=self.now,
            half_life_days=half_life_days,
        )
        self.use = self.graph.biadjacency()  # teams x resources, decayed weights
        self.popularity = np.log1p(np.asarray(self.use.sum(axis=0)).ravel())

        labels: dict[int, list[float]] = defaultdict(list)
        stage_kinds: dict[str, Counter[str]] = defaultdict(Counter)
        for e in data.events:
            if e.resource in self.res_pos and e.team in self.team_pos:
                labels[self.res_pos[e.resource]].append(label(e))
                stage = data.teams[e.team].meta.get("stage", "")
                stage_kinds[stage][data.resources[e.resource].kind] += 1
        self.quality = np.array(
            [np.mean(labels[i]) if labels[i] else NOT_APPLICABLE for i in range(len(resources))]
        )
        self.kind_share = {
            stage: {kind: n / sum(counts.values()) for kind, n in counts.items()}
            for stage, counts in stage_kinds.items()
        }

    # Retrieval ----------------------------------------------------------------------------------

    def candidates(self, team: str, pool: np.ndarray | None = None, limit: int = RETRIEVE) -> np.ndarray:
        """About ``limit`` resource positions: the best by content, by graph walk and by popularity, plus
        what the team already used. ``pool`` restricts the choice (e.g. to the team's space)."""
        allowed = pool if pool is not None else np.arange(len(self.resource_ids))
        if len(allowed) <= limit:
            return allowed
        t = self.team_pos[team]
        content, walk = (row[allowed] for row in self._rows(t))
        picked: list[np.ndarray] = [
            allowed[np.argsort(-content, kind="stable")[: limit // 2]],
            allowed[np.argsort(-walk, kind="stable")[: limit // 4]],
            allowed[np.argsort(-self.popularity[allowed], kind="stable")[: limit // 4]],
            allowed[np.isin(allowed, self.use.getrow(t).indices)],
        ]
        return np.unique(np.concatenate(picked))

    # Features -----------------------------------------------------------------------------------

    def _rows(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Content similarity and walk proximity of team ``t`` to every resource, computed once per
        team (retrieval and features both need them)."""
        if self._rows_for is None or self._rows_for[0] != t:
            content = np.asarray((self.team_text[t] @ self.res_text_t).todense()).ravel()
            # Resources are the graph's only items here, in position order.
            walk = self.graph.proximity_scores(t)[: len(self.resource_ids)]
            top = walk.max(initial=0.0)
            self._rows_for = (t, content, walk / top if top > 0 else walk)
        return self._rows_for[1], self._rows_for[2]

    def _content_row(self, t: int) -> np.ndarray:
        return self._rows(t)[0]

    def _walk_row(self, t: int) -> np.ndarray:
        return self._rows(t)[1]

    def features(self, team: str, positions: np.ndarray) -> np.ndarray:
        """The feature matrix (rows: the given resource positions, columns: FEATURES)."""
        t = self.team_pos[team]
        entity = self.data.teams[team]
        stage = entity.meta.get("stage", "")
        content = self._content_row(t)[positions]
        tag_fit = np.asarray((self.res_tags[positions] @ self.team_tags.getrow(t).T).todense()).ravel()
        walk = self._walk_row(t)[positions]
        repeat = np.log1p(self.use.getrow(t).toarray().ravel()[positions])
        shares = self.kind_share.get(stage, {})
        kinds = [self.data.resources[self.resource_ids[p]].kind for p in positions]
        kind_share = np.array([shares.get(k, 0.0) for k in kinds])
        round_fit = np.full(len(positions), NOT_APPLICABLE)
        ticket_fit = np.full(len(positions), NOT_APPLICABLE)
        wanted_round, ask = entity.meta.get("round", ""), _number(entity.meta.get("ask"))
        for i, p in enumerate(positions):
            meta = self.data.resources[self.resource_ids[p]].meta
            if "rounds" in meta and wanted_round:
                round_fit[i] = 1.0 if wanted_round in meta["rounds"].split(";") else 0.0
            low, high = _number(meta.get("ticket_min")), _number(meta.get("ticket_max"))
            if ask is not None and (low is not None or high is not None):
                ticket_fit[i] = 1.0 if (low or 0) <= ask <= (high if high is not None else math.inf) else 0.0
        return np.column_stack(
            [
                content,
                tag_fit,
                walk,
                repeat,
                self.popularity[positions],
                kind_share,
                self.quality[positions],
                round_fit,
                ticket_fit,
            ]
        )


def cold_start_score(x: np.ndarray) -> np.ndarray:
    """The score used before any model is trained: content and graph, a little popularity."""
    return (
        0.45 * x[:, 0]
        + 0.35 * x[:, 1]
        + 0.15 * x[:, 2]
        + 0.05 * x[:, 4] / max(float(np.nanmax(x[:, 4], initial=1.0)), 1.0)
    )


class Ranker:
    """Retrieve, re-rank, explain. ``model`` is None until trained: the cold-start score serves then."""

    def __init__(self, signals: Signals, model: HistGradientBoostingClassifier | None = None) -> None:
        self.signals = signals
        self.model = model
        self._plans: dict[tuple[str, tuple[str, ...], int], dict[str, list[str]]] = {}
        self._plans_lock = threading.Lock()

    @property
    def mode(self) -> str:
        return "trained model" if self.model is not None else "cold start (content and graph)"

    def pool(self, team: str) -> np.ndarray:
        """The resources a team may use: those of its own space when spaces are known."""
        s = self.signals
        space = s.data.teams[team].meta.get("space")
        if not space:
            return np.arange(len(s.resource_ids))
        return s.space_pools.get(space, s.shared_pool)

    def score(self, team: str, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = self.signals.features(team, positions)
        return self._predict(x), x

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
    ) -> list[Recommendation]:
        """The team's best ``k`` (diversified). With ``fair``, the list is the team's share of its
        space's exposure-capped plan (see :mod:`matchmaker.exposure`)."""
        s = self.signals
        if team not in s.team_pos:
            return []
        pool = self.pool(team)
        if kinds:
            pool = pool[[s.data.resources[s.resource_ids[p]].kind in kinds for p in pool]]
        positions = s.candidates(team, pool)
        scores, x = self.score(team, positions)
        if fair and k is not None:
            kept = set(self.fair_plan(team, kinds=kinds, k=k))
            wide = self._diversified(positions, scores, exposure.WIDTH * k)
            order = np.array([i for i in wide if s.resource_ids[positions[i]] in kept][:k], dtype=int)
        else:
            order = self._diversified(positions, scores, k if k is not None else len(positions))
        reasons = (
            self._reasons(team, positions[order], x[order], scores[order], _neutral(x))
            if explain
            else [()] * len(order)
        )
        return [
            Recommendation(s.resource_ids[positions[i]], float(scores[i]), reasons[n])
            for n, i in enumerate(order)
        ]

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
        team's whole pool, and the features on which it trails the last recommendation shown."""
        s = self.signals
        if team not in s.team_pos or resource not in s.res_pos:
            return {"resource": resource, "rank": None, "held_back_by": []}
        pool = self.pool(team)
        target = s.res_pos[resource]
        if target not in set(pool.tolist()):
            other = Reason("space", "It belongs to another space", "它属于其他空间")
            return {"resource": resource, "rank": None, "held_back_by": [other]}
        scores, x = self.score(team, pool)
        order = np.argsort(-scores, kind="stable")
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
            gains = self._predict(batch) - scores[row]
            for j in np.argsort(-gains, kind="stable")[:2]:
                if gains[j] > 1e-6:
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
        (how well the team fits the resource's expertise, and for funds its round and ticket)."""
        s = self.signals
        if resource not in s.res_pos:
            return []
        position = np.array([s.res_pos[resource]])
        space = s.data.resources[resource].meta.get("space")
        teams = [t for t in s.team_ids if not space or s.data.teams[t].meta.get("space") in (space, None)]
        if not teams:
            return []
        x = np.vstack([s.features(t, position) for t in teams])
        both = self._both_sides(x)
        order = np.argsort(-both, kind="stable")[:k]
        return [
            Recommendation(
                teams[i],
                float(both[i]),
                _team_reasons(s.data.teams[teams[i]], s.data.resources[resource], x[i], s.tag_labels),
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
        """Rows of pair features → the harmonic mean of the team's side (the ranking score) and the
        resource's side (content and tag fit, and for funds the round and ticket)."""
        team_side = self._predict(x)
        fit = 0.5 * x[:, FEATURES.index("content")] / max(float(x[:, 0].max()), 1e-9) + 0.5 * x[:, 1]
        for name in ("round_fit", "ticket_fit"):
            column = x[:, FEATURES.index(name)]
            fit = np.where(column >= 0, fit * (0.5 + 0.5 * column), fit)
        both: np.ndarray = np.clip(2 * team_side * fit / np.maximum(team_side + fit, 1e-9), 0.0, 1.0)
        return both

    def _predict(self, x: np.ndarray) -> np.ndarray:
        if self.model is None:
            return cold_start_score(x)
        with _one_thread():
            predicted: np.ndarray = self.model.predict_proba(x)[:, 1]
            return predicted

    def _diversified(self, positions: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
        """Best-first order, diversified (maximal marginal relevance): each next pick trades a little
        score for being unlike what is already on the list, so a page is not five near-identical
        instruments. Only the head of the list is re-ordered; the tail stays by score."""
        order = np.argsort(-scores, kind="stable")
        head = order[: min(len(order), max(3 * k, 30))]
        if len(head) <= 1 or DIVERSITY == 0:
            return order[:k]
        vectors = self.signals.res_text[positions[head]]
        similarity = (vectors @ vectors.T).toarray()
        relevance = scores[head] / max(float(scores[head].max()), 1e-9)
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
        positions: np.ndarray,
        x: np.ndarray,
        scores: np.ndarray,
        neutral: np.ndarray,
        top: int = 3,
    ) -> list[tuple[Reason, ...]]:
        """The features that drove each score, found by replacing one feature at a time with its typical
        value among all the candidates (``neutral``) and measuring how far the score falls. Only
        features that raised the score are named."""
        batch = np.repeat(x, len(FEATURES), axis=0)
        for j in range(len(FEATURES)):
            batch[j :: len(FEATURES), j] = neutral[j]
        ablated = self._predict(batch)
        drops = scores[:, None] - ablated.reshape(len(positions), len(FEATURES))
        out = []
        for row, position in enumerate(positions):
            best = [j for j in np.argsort(-drops[row], kind="stable")[:top] if drops[row, j] > 1e-6]
            out.append(tuple(self._reason(team, int(position), FEATURES[j], x[row, j]) for j in best))
        return out

    def _reason(self, team: str, position: int, feature: str, value: float) -> Reason:
        s = self.signals
        resource = s.data.resources[s.resource_ids[position]]
        entity = s.data.teams[team]
        if feature == "tag_fit":
            shared = sorted(entity.tags & resource.tags)[:3]
            en = ", ".join(s.tag_labels.get(t, (t, t))[0] for t in shared)
            zh = "、".join(s.tag_labels.get(t, (t, t))[1] for t in shared)
            return Reason(feature, f"Shared capabilities: {en}", f"共同能力：{zh}")
        if feature == "content":
            words = self._shared_words(team, position)
            return Reason(
                feature,
                f"Your needs and its description both mention {', '.join(words) or '—'}",
                f"需求与其介绍都提到：{'、'.join(words) or '—'}",
            )
        if feature == "walk":
            return Reason(feature, "Used by teams who use what you use", "与您使用相同资源的团队也在使用")
        if feature == "repeat":
            return Reason(feature, "Your team has used it before", "贵团队曾使用过")
        if feature == "popularity":
            return Reason(feature, "In steady demand lately", "近期使用需求旺盛")
        if feature == "kind_share":
            stage = entity.meta.get("stage", "")
            return Reason(
                feature,
                f"Often used by teams at the {stage} stage",
                f"处于{_STAGE_ZH.get(stage, stage)}阶段的团队常用",
            )
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
        """The closest phrases: the heaviest terms both texts share. English words are whole words;
        Chinese character pairs are shown only when they are a known capability term, since a pair
        cut out of a longer word reads as nonsense."""
        s = self.signals
        both = s.team_text.getrow(s.team_pos[team]).multiply(s.res_text.getrow(position)).tocsr()
        names = s.term_names
        words: list[str] = []
        for i in both.indices[np.argsort(-both.data, kind="stable")]:
            term = str(names[i])
            word = term[2:] if term.startswith("w:") and len(term) > 4 else ""
            if not term.startswith(("w:", "t:")) and term in s.known_terms:
                word = term
            if word and word not in words:
                words.append(word)
            if len(words) == 3:
                break
        return words


_FEATURE_NAMES = {
    "content": ("wording of your needs", "需求描述的契合度"),
    "tag_fit": ("shared capabilities", "共同能力"),
    "walk": ("use by teams like yours", "相似团队的使用情况"),
    "repeat": ("your own past use", "贵团队的使用记录"),
    "popularity": ("recent demand", "近期需求"),
    "kind_share": ("fit with your stage", "与所处阶段的匹配"),
    "quality": ("outcomes so far", "以往效果"),
    "round_fit": ("the round it invests in", "投资轮次"),
    "ticket_fit": ("its ticket size", "投资金额范围"),
}


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
    if x[FEATURES.index("round_fit")] == 1:
        wanted = team.meta.get("round", "")
        out.append(
            Reason("round_fit", f"Seeks a {wanted} round you invest in", f"正在寻求您投资的{wanted}轮")
        )
    if x[FEATURES.index("ticket_fit")] == 1:
        out.append(Reason("ticket_fit", "Its ask fits your ticket size", "融资需求在您的投资范围内"))
    if x[FEATURES.index("repeat")] > 0:
        out.append(Reason("repeat", "Has worked with you before", "曾与您合作"))
    stage = team.meta.get("stage", "")
    if stage:
        out.append(Reason("stage", f"At the {stage} stage", f"处于{_STAGE_ZH.get(stage, stage)}阶段"))
    return tuple(out[:3])


ABSENT = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE])


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


_STAGE_ZH = {"nursery": "创业苗圃", "incubator": "孵化器", "accelerator": "加速器"}


def training_pairs(
    data: Dataset, *, windows: Sequence[float] = (0.6, 0.45, 0.3, 0.15), negatives: int = 200, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels to learn from, over rolling windows: features from the period before a cut,
    labels (did the team have a positive outcome with the resource) from the slice after it;
    negatives are retrieved candidates the team did not turn to."""
    xs, ys = [], []
    for fraction in windows:
        older, rest = time_split(data, fraction)
        newer = time_split(rest, 0.5)[0] if fraction > 0.2 else rest
        x, y = _window_pairs(older, newer, negatives=negatives, seed=seed)
        xs.append(x)
        ys.append(y)
    return np.vstack(xs), np.concatenate(ys)


def _window_pairs(
    older: Dataset, newer: Dataset, *, negatives: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    signals = Signals(older)
    ranker = Ranker(signals)
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for team, positives in newer.positives().items():
        if team not in signals.team_pos:
            continue
        pool = ranker.pool(team)
        positions = signals.candidates(team, pool)
        wanted = {signals.res_pos[r] for r in positives if r in signals.res_pos}
        neg = np.array([p for p in positions if p not in wanted])
        if len(neg) > negatives:
            neg = rng.choice(neg, size=negatives, replace=False)
        pos = np.array(sorted(wanted), dtype=int)
        if len(pos) == 0:
            continue
        chosen = np.concatenate([pos, neg]).astype(int)
        xs.append(signals.features(team, chosen))
        ys.append(np.concatenate([np.ones(len(pos)), np.zeros(len(neg))]))
    if not xs:
        return np.zeros((0, len(FEATURES))), np.zeros(0)
    return np.vstack(xs), np.concatenate(ys)


def train(data: Dataset, *, seed: int = 0) -> Ranker:
    """Fit the re-ranking model on ``data`` and return a ranker serving from all of it."""
    x, y = training_pairs(data, seed=seed)
    model = None
    if len(set(y.tolist())) == 2:
        # Small, regularised trees: a few thousand positives at demo scale; settings chosen on a time
        # split inside the training period only.
        model = HistGradientBoostingClassifier(
            max_iter=60,
            learning_rate=0.08,
            max_leaf_nodes=7,
            min_samples_leaf=40,
            l2_regularization=1.0,
            random_state=seed,
        )
        with _one_thread():
            model.fit(x, y)
    return Ranker(Signals(data), model)


MODEL_FORMAT = 1


def save_model(ranker: Ranker, folder: Path, *, trained_on: str) -> Path:
    """Write the re-ranking model with its metadata as ``ranker-<time>.pkl`` and ``.json``; versioned by
    time, so earlier models stay for comparison and rollback."""
    if ranker.model is None:
        raise ValueError("nothing to save: the ranker has no trained model")
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
    }
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    return path


def load_latest_model(folder: Path) -> tuple[HistGradientBoostingClassifier, dict[str, object]] | None:
    """The newest saved model whose features match this code's, or None (cold start then serves).

    Only files the platform itself wrote into its instance folder are ever loaded.
    """
    for path in sorted(folder.glob("ranker-*.pkl"), reverse=True):
        meta_path = path.with_suffix(".json")
        if not meta_path.exists():
            continue
        meta = json.loads(meta_path.read_text())
        if meta.get("format") == MODEL_FORMAT and meta.get("features") == list(FEATURES):
            model = pickle.loads(path.read_bytes())  # noqa: S301  (our own file, see above)
            return model, meta
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
