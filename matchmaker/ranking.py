"""Two-stage ranking: retrieve candidates by content, graph and popularity, re-rank them with a learned
model over pair features, and explain each recommendation by the features that drove it."""

from __future__ import annotations

import json
import math
import pickle
import warnings
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from threadpoolctl import threadpool_limits

from matchmaker.datasets import Dataset, label, time_split
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
        self, data: Dataset, *, now: datetime | None = None, half_life_days: float = HALF_LIFE_DAYS
    ) -> None:
        self.data = data
        self.team_ids = sorted(data.teams)
        self.resource_ids = sorted(data.resources)
        self.team_pos = {t: i for i, t in enumerate(self.team_ids)}
        self.res_pos = {r: i for i, r in enumerate(self.resource_ids)}
        self.now = now or (max(e.at for e in data.events) if data.events else datetime.now().astimezone())
        teams = [data.teams[t] for t in self.team_ids]
        resources = [data.resources[r] for r in self.resource_ids]

        # Content: one vocabulary over both sides, so a team's needs and a resource's description meet.
        vectorizer = TfidfVectorizer(analyzer=text_features, sublinear_tf=True, dtype=np.float32)
        vectorizer.fit([e.text for e in teams] + [e.text for e in resources])
        self.team_text = vectorizer.transform([e.text for e in teams]).tocsr()
        self.res_text = vectorizer.transform([e.text for e in resources]).tocsr()
        self.vectorizer = vectorizer

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
        content = self._content_row(t)[allowed]
        walk = self._walk_row(t)[allowed]
        picked: list[np.ndarray] = [
            allowed[np.argsort(-content, kind="stable")[: limit // 2]],
            allowed[np.argsort(-walk, kind="stable")[: limit // 4]],
            allowed[np.argsort(-self.popularity[allowed], kind="stable")[: limit // 4]],
            allowed[np.isin(allowed, self.use.getrow(t).indices)],
        ]
        return np.unique(np.concatenate(picked))

    # Features -----------------------------------------------------------------------------------

    def _content_row(self, t: int) -> np.ndarray:
        text = np.asarray((self.res_text @ self.team_text.getrow(t).T).todense()).ravel()
        return text

    def _walk_row(self, t: int) -> np.ndarray:
        scores = np.zeros(len(self.resource_ids))
        for node, value in self.graph.proximity(t).items():
            scores[node[1]] = value
        top = scores.max(initial=0.0)
        return scores / top if top > 0 else scores

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

    @property
    def mode(self) -> str:
        return "trained model" if self.model is not None else "cold start (content and graph)"

    def pool(self, team: str) -> np.ndarray:
        """The resources a team may use: those of its own space when spaces are known."""
        s = self.signals
        space = s.data.teams[team].meta.get("space")
        if not space:
            return np.arange(len(s.resource_ids))
        return np.array(
            [
                i
                for i, r in enumerate(s.resource_ids)
                if s.data.resources[r].meta.get("space") in (space, None)
            ]
        )

    def score(self, team: str, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = self.signals.features(team, positions)
        if self.model is None:
            return cold_start_score(x), x
        with threadpool_limits(1):
            return self.model.predict_proba(x)[:, 1], x

    def rank(self, team: str, *, kinds: Sequence[str] = (), limit: int | None = None) -> list[str]:
        """Resource ids for the team, best first (all retrieved candidates unless ``limit``)."""
        return [r.resource for r in self.recommend(team, kinds=kinds, k=limit, explain=False)]

    def recommend(
        self, team: str, *, kinds: Sequence[str] = (), k: int | None = 10, explain: bool = True
    ) -> list[Recommendation]:
        s = self.signals
        if team not in s.team_pos:
            return []
        pool = self.pool(team)
        if kinds:
            pool = pool[[s.data.resources[s.resource_ids[p]].kind in kinds for p in pool]]
        positions = s.candidates(team, pool)
        scores, x = self.score(team, positions)
        order = np.argsort(-scores, kind="stable")[: k if k is not None else len(positions)]
        reasons = (
            self._reasons(team, positions[order], x[order], scores[order], _neutral(x))
            if explain
            else [()] * len(order)
        )
        return [
            Recommendation(s.resource_ids[positions[i]], float(scores[i]), reasons[n])
            for n, i in enumerate(order)
        ]

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
        if self.model is None:
            ablated = cold_start_score(batch)
        else:
            with threadpool_limits(1):
                ablated = self.model.predict_proba(batch)[:, 1]
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
            shared = sorted(entity.tags & resource.tags)
            names = ", ".join(shared[:3])
            return Reason(feature, f"Shared capabilities: {names}", f"共同能力：{names}")
        if feature == "content":
            words = self._shared_words(team, position)
            return Reason(feature, f"Your needs mention {words}", f"需求中提到 {words}")
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

    def _shared_words(self, team: str, position: int) -> str:
        s = self.signals
        t = s.team_text.getrow(s.team_pos[team])
        r = s.res_text.getrow(position)
        both = t.multiply(r)
        names = s.vectorizer.get_feature_names_out()
        best = [names[i] for i in both.indices[np.argsort(-both.data)]][:20]
        words = []
        for term in best:
            word = term[2:] if term.startswith("w:") else term if not term.startswith("t:") else ""
            if word and word not in words:
                words.append(word)
        return "、".join(f"“{w}”" for w in words[:3]) or "—"


def _neutral(x: np.ndarray) -> np.ndarray:
    """Each feature's median over the candidates; an all-empty column counts as 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        neutral: np.ndarray = np.nan_to_num(np.nanmedian(x, axis=0), nan=0.0)
        return neutral


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
        with threadpool_limits(1):
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
