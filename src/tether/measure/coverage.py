"""Embedding coverage: does the synthetic data reach every part of the real data, and does it wander off?

* covered (per real group and overall): the share of real rows (seeds, held-out questions, chunks, any labelled
  group) whose nearest synthetic row has cosine ≥ `radius`. A real row nobody generated near is a gap.
* drift: the share of synthetic rows whose nearest real row, over all groups, has cosine < `radius`, and which
  ones (farthest first), so a caller can list them: text far from every seed, question and chunk is off-domain,
  invented, or degenerate.

Nearest neighbours come from `tether.embed.search.best_match` (an exact faiss inner-product index when faiss is
importable, else numpy in row blocks): no n x m matrix is ever held.

The radius. The default, 0.6 cosine for all-MiniLM-L6-v2 (int8 ONNX), comes from measuring `CALIBRATION` (30
hand-written paraphrase pairs, 3 per topic over 10 town-regulation topics) with `calibrate_radius`:

    cosine of pairs                     n     min    p10  median   p90    max   share >= 0.6
    paraphrase                         30   0.350  0.606  0.798  0.898  0.951   0.90
    same topic, other question         60   0.053  0.143  0.339  0.550  0.640   0.03
    other topic                       810  -0.102  0.011  0.131  0.293  0.575   0.00

Youden's J on paraphrase vs other-topic pairs (`choose_radius`) puts the cut at 0.57 (97% of paraphrases, 0.1% of
other-topic pairs above); 0.6 is the round value just above every other-topic pair, so "covered" means "some
synthetic row says nearly the same thing", not "something on the same topic" (only 3% of same-topic pairs pass).
Cross-type groups sit lower, because a question alone or a whole paragraph is compared with question + answer
rows (examples/brindlemoor, same embedder): a seed Q+A to the best paragraph of its own document has median 0.76
(p10 0.60), to the best paragraph of any other document median 0.48 (p90 0.64); a held-out question to its own
document's best paragraph median 0.68, other documents 0.46. Chunk coverage at 0.6 is therefore about "a row
drawn from this passage"; held-out-question coverage is strict and reads best as a trend between versions.
Another embedder needs its own radius: run `calibrate_radius(embedder).radius`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from tether.embed.search import best_match
from tether.measure.diversity import normalise

DEFAULT_RADIUS = 0.6
OVERALL = "overall"

# topic -> (sentence, paraphrase) pairs, invented town-regulation questions in the style of the example domain.
CALIBRATION: dict[str, list[tuple[str, str]]] = {
    "dogs": [
        (
            "How much does a licence cost for a neutered dog?",
            "What is the yearly fee to license a dog that is neutered?",
        ),
        ("How many dogs may one household keep?", "What is the maximum number of dogs allowed in a single home?"),
        (
            "Must my dog wear its licence tag in the park?",
            "Does the licence tag have to be on the dog's collar in public?",
        ),
    ],
    "parking": [
        ("How much is a resident parking permit?", "What does it cost to get a parking permit as a resident?"),
        ("What happens if my car is towed?", "My vehicle was removed by the tow truck. What do I do now?"),
        ("Can I park in the loading bay on Sundays?", "Is parking in a loading zone allowed on a Sunday?"),
    ],
    "waste": [
        (
            "Which day is the household rubbish collected?",
            "On what day of the week do the bin lorries pick up household waste?",
        ),
        (
            "How do I book a bulky waste collection for an old sofa?",
            "I want to get rid of a couch. How can I arrange a bulky item pickup?",
        ),
        ("Can glass bottles go in the recycling bin?", "Am I allowed to put glass jars and bottles in the recycling?"),
    ],
    "library": [
        (
            "How many books can I borrow at once?",
            "What is the limit on the number of books checked out at the same time?",
        ),
        ("When does the library open on Saturdays?", "What are the library's opening hours at the weekend?"),
        ("Is there a fine for returning a book late?", "Do I have to pay a charge if my library book is overdue?"),
    ],
    "harbour": [
        (
            "How long is the waiting list for a harbour mooring?",
            "How many years must I wait before I get a berth in the harbour?",
        ),
        ("Where can I launch a small boat?", "Which slipway may be used to put a dinghy into the water?"),
        ("What are the harbour office opening hours?", "When is the harbour master's office open to the public?"),
    ],
    "tram": [
        ("How much is a single tram ticket?", "What is the fare for one trip on the tram?"),
        ("Do children travel free on the tram?", "Is the tram free of charge for kids?"),
        (
            "When does the last tram leave the quay on weekdays?",
            "What time is the final weekday tram departure from the quayside?",
        ),
    ],
    "noise": [
        ("What are the quiet hours at night?", "Between which hours at night must residents keep noise down?"),
        ("Can building work start at 7 in the morning?", "Are construction sites allowed to begin work at 7 am?"),
        ("How do I report a neighbour playing loud music?", "Where can I complain about noisy music from next door?"),
    ],
    "water": [
        ("How often is the water bill sent out?", "How frequently does the water utility issue its invoices?"),
        (
            "May I water my garden with a hose during a drought?",
            "Is using a garden hose allowed when water restrictions are in force?",
        ),
        (
            "Who pays to repair a leaking pipe in my front garden?",
            "If the pipe under my front yard leaks, am I or the utility responsible for fixing it?",
        ),
    ],
    "building": [
        (
            "Do I need a permit to build a garden shed?",
            "Is planning permission required for putting up a shed in the garden?",
        ),
        (
            "How long does it take to approve a building permit?",
            "How many weeks does the council need to decide on a building application?",
        ),
        ("Can I cut down a large oak tree on my land?", "Am I allowed to fell a big oak that stands on my property?"),
    ],
    "fireworks": [
        ("On which nights are fireworks allowed?", "When is it permitted to set off fireworks?"),
        (
            "Do I need permission for a bonfire in my garden?",
            "Is a garden bonfire allowed without asking the council first?",
        ),
        (
            "How far from houses must a bonfire be?",
            "What is the minimum distance between a bonfire and the nearest home?",
        ),
    ],
}


@dataclass
class EmbeddingCoverage:
    """Coverage of real rows by synthetic ones, and drift of synthetic rows away from the real ones.

    `covered[g]` is None for an empty group; `drift` is None with no synthetic or no real rows. Index lists are
    positions in the arrays passed in, least covered / farthest first."""

    radius: float
    rows: dict[str, int]  # real rows per group (and overall)
    covered: dict[str, float | None]  # group (and "overall") -> share of its rows with a synthetic row within radius
    uncovered: dict[str, list[int]]  # group -> its rows with no synthetic row within radius
    drift: float | None  # share of synthetic rows with no real row within radius
    drifting: list[int] = field(default_factory=list)  # those synthetic rows
    nearest_real: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # per synthetic row


def embedding_coverage(
    real: Mapping[str, np.ndarray], synthetic: np.ndarray, radius: float = DEFAULT_RADIUS
) -> EmbeddingCoverage:
    """Coverage of each real group by `synthetic`, and drift of `synthetic` from all real rows together.

    All arrays are (rows x dims) embeddings from one embedder; they are L2-normalised here. An empty group (0
    rows, any shape) is reported as None."""
    if not 0 < radius <= 1:
        raise ValueError(f"radius must be a cosine in (0, 1], got {radius}")
    if OVERALL in real:
        raise ValueError(f"{OVERALL!r} is reserved for the total; rename that group")
    groups = {g: _rows(e) for g, e in real.items()}
    syn = _rows(synthetic)
    rows = {g: len(e) for g, e in groups.items()}
    covered: dict[str, float | None] = {}
    uncovered: dict[str, list[int]] = {}
    n_cov = 0
    for g, emb in groups.items():
        if len(emb) == 0:
            covered[g], uncovered[g] = None, []
            continue
        best = _nearest(emb, syn)
        hit = best >= radius
        n_cov += int(hit.sum())
        covered[g] = float(hit.mean())
        miss = np.flatnonzero(~hit)
        uncovered[g] = miss[np.argsort(best[miss], kind="stable")].tolist()
    total = sum(rows.values())
    rows[OVERALL] = total
    covered[OVERALL] = n_cov / total if total else None
    nonempty = [e for e in groups.values() if len(e)]
    if len(syn) == 0 or not nonempty:
        return EmbeddingCoverage(radius, rows, covered, uncovered, None)
    near = _nearest(syn, np.vstack(nonempty))
    far = np.flatnonzero(near < radius)
    drifting = far[np.argsort(near[far], kind="stable")].tolist()
    return EmbeddingCoverage(radius, rows, covered, uncovered, len(far) / len(syn), drifting, near)


def _rows(emb: np.ndarray) -> np.ndarray:
    emb = np.asarray(emb)
    if emb.size == 0:
        return np.zeros((0, emb.shape[-1] if emb.ndim == 2 else 0), dtype=np.float32)
    return normalise(emb, np.float32)


def _nearest(queries: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """Best cosine of each query row to any reference row; -1 (nothing near) when there are no references."""
    if len(refs) == 0:
        return np.full(len(queries), -1.0, dtype=np.float32)
    if queries.shape[1] != refs.shape[1]:
        raise ValueError(f"embedding widths differ: {queries.shape[1]} vs {refs.shape[1]} (two embedders?)")
    best, _ = best_match(queries, refs)
    return np.asarray(best, dtype=np.float32)


def choose_radius(similar: Sequence[float], unrelated: Sequence[float]) -> float:
    """The cosine that best separates pairs that should count as near from pairs that should not.

    If the two sets do not overlap, the midpoint of the gap between them; otherwise the threshold maximising
    (share of similar pairs ≥ t) − (share of unrelated pairs ≥ t), Youden's J, at the lowest such t."""
    pos, neg = np.sort(np.asarray(similar, float)), np.sort(np.asarray(unrelated, float))
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("need at least one similar and one unrelated similarity")
    if pos[0] > neg[-1]:
        return float((pos[0] + neg[-1]) / 2)
    cands = np.unique(np.concatenate([pos, neg]))
    tpr = 1 - np.searchsorted(pos, cands, side="left") / len(pos)
    fpr = 1 - np.searchsorted(neg, cands, side="left") / len(neg)
    return float(cands[int(np.argmax(tpr - fpr))])


@dataclass
class RadiusCalibration:
    paraphrase: np.ndarray  # cosine of each paraphrase pair
    same_topic: np.ndarray  # different questions on one topic
    unrelated: np.ndarray  # questions on different topics
    radius: float  # choose_radius(paraphrase, unrelated)

    def summary(self) -> dict[str, dict[str, float]]:
        """min / p10 / median / p90 / max of each set, rounded, for docs and reports."""
        qs = {"min": 0.0, "p10": 0.1, "median": 0.5, "p90": 0.9, "max": 1.0}
        sets = {"paraphrase": self.paraphrase, "same_topic": self.same_topic, "unrelated": self.unrelated}
        return {k: {q: round(float(np.quantile(v, p)), 3) for q, p in qs.items()} for k, v in sets.items()}


def calibrate_radius(embedder, pairs: Mapping[str, Sequence[tuple[str, str]]] = CALIBRATION) -> RadiusCalibration:
    """Measure an embedder on topic-labelled paraphrase pairs and pick the radius that separates paraphrases from
    unrelated questions. `embedder` is anything with `.embed(list[str]) -> np.ndarray` (tether.embed.embedder).

    Same-topic pairs (the first sentence of one pair against the paraphrase of another pair on the same topic)
    are reported, not used: whether "same topic, other question" should count as covered is the caller's call,
    and they sit between the two other sets."""
    texts = [s for topic in pairs.values() for pair in topic for s in pair]
    v = normalise(embedder.embed(texts), np.float64)
    idx, at = {}, 0
    for name, topic in pairs.items():
        idx[name] = list(range(at, at + 2 * len(topic), 2))
        at += 2 * len(topic)
    para = [v[i] @ v[i + 1] for ids in idx.values() for i in ids]
    same = [v[i] @ v[j + 1] for ids in idx.values() for i, j in itertools.permutations(ids, 2)]
    unrel = [v[i] @ v[j + 1] for a, b in itertools.permutations(idx, 2) for i in idx[a] for j in idx[b]]
    p, s, u = (np.asarray(x, dtype=np.float64) for x in (para, same, unrel))
    return RadiusCalibration(paraphrase=p, same_topic=s, unrelated=u, radius=choose_radius(p, u))
