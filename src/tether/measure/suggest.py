"""Draft an ontology from the documents when the user has none: cluster the chunks, name the clusters from their
own headings and distinctive words, and write an `ontology.yaml` the user then edits.

Why this shape (numbers from bench/ontology_agreement.py, ARI against the hand-written ontologies):
- Chunks are embedded with their document title and heading path in front (the author's own topic labels), and
  each vector is averaged with its document's mean vector before clustering (`smooth_by_group`): a chunk is a
  fragment, and its document says much about its topic. It raised ARI at the chosen k from 0.68 to 0.73 on
  the example domain and from 0.33 to 0.56 on pyref (at the best k: 0.74 to 0.84, 0.52 to 0.58).
- k is the smallest k in the range whose mean cosine silhouette (in the space clustered) is within `tolerance`
  of the best: the curve is flat near its top, and a slightly higher score at a larger k mostly splits a topic.
- Names, descriptions and keywords come from the chunks, no model: the heading that covers most of a cluster,
  its words filtered by class-based TF-IDF (as BERTopic); keywords are words and two-word phrases found mostly
  in the cluster, so the keyword matcher finds the concept in its own chunks (recall/precision per concept).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from tether.documents import Chunk, Document
from tether.embed.embedder import Embedder
from tether.errors import TetherError
from tether.measure.clustering import coherent_groups, kmeans, select_k, silhouette_samples, smooth_by_group
from tether.measure.concepts import chunk_text
from tether.seeds.ontology import Concept, KeywordMatcher, Ontology

MIN_CHUNKS = 6  # below this many distinct chunks, clustering means nothing: one concept per document
PARENT_MIN_LEAVES = 8  # a second level only pays off with enough concepts to group
PARENT_MIN_SILHOUETTE = 0.25  # see clustering.coherent_groups
MAX_KEYWORDS = 8
STOP_WORDS = frozenset(
    """about above after again against all also and any are because been before being below between both but can
    cannot could did does doing done down during each either else etc even ever every few for from further get gets
    had has have having her here hers him his how however into its itself just least less like made make may might
    more most much must nor not now off once one only other otherwise our ours out over own per same see shall she
    should since some such than that the their theirs them then there these they this those through thus too under
    until upon use used uses using very via was were what when where whether which while who whom whose why will
    with within without would yes yet you your yours""".split()
)  # words of under 3 letters are dropped anyway
_WORD = re.compile(r"\w+")
_YAML_WORDS = {"null", "true", "false", "yes", "no", "on", "off", "y", "n"}  # plain scalars YAML 1.1 reads as non-str
Namer = Callable[[Concept, list[str]], Concept | None]  # (draft, example chunk texts) -> replacement or None


class ConceptStats(BaseModel):
    name: str
    chunks: int
    documents: int
    silhouette: float | None  # mean leaf silhouette of its chunks; None: one cluster or one concept per document
    keyword_recall: float  # share of its chunks KeywordMatcher tags with it
    keyword_precision: float  # share of the chunks tagged with it that are its own
    example_headings: list[str]
    children: list[str] = []


class Suggestion(BaseModel):
    ontology: Ontology
    stats: list[ConceptStats]  # in ontology order
    k: int  # leaf concepts
    criterion: str  # how k was chosen, one sentence
    curve: dict[int, float]  # k -> mean silhouette over the range tried
    assignment: dict[str, str | None]  # chunk id -> leaf concept (None: blank text, not clustered)
    n_chunks: int
    n_documents: int


def _terms(text: str) -> tuple[Counter[str], set[str]]:
    """Content-word counts, and the words and two-word phrases present exactly as KeywordMatcher finds them:
    maximal word runs, and two content words separated only by whitespace."""
    counts: Counter[str] = Counter()
    present: set[str] = set()
    prev: re.Match[str] | None = None
    for m in _WORD.finditer(text):
        w = m.group().lower()
        if len(w) < 3 or w[0].isdigit() or w in STOP_WORDS or not any(ch.isalpha() for ch in w):
            prev = None
            continue
        counts[w] += 1
        present.add(w)
        if prev is not None and text[prev.end() : m.start()].isspace():
            present.add(f"{prev.group().lower()} {w}")
        prev = m
    return counts, present


def _path(chunk: Chunk, title: str) -> list[str]:
    path = [h for h in chunk.heading if h.strip()]
    return [title, *path] if title.strip() and (not path or path[0] != title) else path


def embed_text(chunk: Chunk, title: str) -> str:
    """Title and heading path in front of the text: the author's own topic labels weigh in the vector."""
    return " / ".join(_path(chunk, title)) + "\n" + chunk.text


def snake(words: Sequence[str]) -> str:
    name = "_".join(p for w in words for p in re.sub(r"[^0-9a-z]+", " ", w.lower()).split())[:48].strip("_")
    return name if name and not name[0].isdigit() else f"c_{name or 'concept'}"


def _stem(w: str) -> str:
    return w[:-1] if len(w) > 3 and w.endswith("s") else w


def _unique(name: str, used: set[str]) -> str:
    out, n = name, 2
    while out in used:
        out, n = f"{name}_{n}", n + 1
    used.add(out)
    return out


class _Corpus:
    """Per chunk: heading path, word counts (heading words 3×: terse, deliberate labels), and an index of the
    terms KeywordMatcher would find in `chunk_text` (the text coverage matches; it may lack the title)."""

    def __init__(self, chunks: list[Chunk], titles: dict[str, str]):
        self.paths = [_path(c, titles.get(c.doc_id, "")) for c in chunks]
        self.counts: list[Counter[str]] = []
        self.present: list[set[str]] = []
        self.index: dict[str, set[int]] = defaultdict(set)
        for i, (c, path) in enumerate(zip(chunks, self.paths, strict=True)):
            body, present = _terms(chunk_text(c))
            body.update({w: 2 * n for w, n in _terms(" / ".join(path))[0].items()})
            self.counts.append(body)
            self.present.append(present)
            for t in present:
                self.index[t].add(i)
        self.heading_df = Counter(h for p in self.paths for h in set(p))

    def ctfidf(self, groups: list[list[int]]) -> list[list[str]]:
        """Per group, words by class-based TF-IDF: tf in the group × log(1 + mean group size / total freq)."""
        totals: list[Counter[str]] = [Counter() for _ in groups]
        for tot, g in zip(totals, groups, strict=True):
            for i in g:
                tot.update(self.counts[i])  # in place: sum() of Counters is quadratic
        freq = Counter()
        for tot in totals:
            freq.update(tot)
        avg = sum(freq.values()) / max(len(groups), 1)
        out = []
        for g, tot in zip(groups, totals, strict=True):
            size, need = max(sum(tot.values()), 1), 2 if len(g) >= 3 else 1  # one chunk's word is not a topic
            df = Counter(w for i in g for w in self.counts[i])
            score = {w: n / size * math.log(1 + avg / freq[w]) for w, n in tot.items() if df[w] >= need}
            out.append(sorted(score, key=lambda w: (-score[w], w)))
        return out

    def keywords(self, group: list[int]) -> list[str]:
        """Terms found mostly in this group (precision ≥ 0.6), best share-of-group × precision first; a term is
        taken when it tags chunks not yet tagged (or is precise, ≥ 0.8: still useful on questions) and the chosen
        set's precision stays ≥ 0.6 — a concept's keywords should find its own chunks, not its neighbours'."""
        own, need = set(group), 2 if len(group) >= 3 else 1
        cands = []
        for t in set().union(*(self.present[i] for i in group)):
            hits = self.index[t]
            n_in = len(hits & own)
            if n_in >= need and n_in / len(hits) >= 0.6:
                cands.append((-n_in / len(group) * n_in / len(hits), t))
        chosen: list[str] = []
        tag_in: set[int] = set()
        tag_out: set[int] = set()
        for _, t in sorted(cands)[:80]:
            hits_in, hits_out = self.index[t] & own, self.index[t] - own
            if not hits_in - tag_in and len(hits_in) / len(self.index[t]) < 0.8:
                continue
            if len(tag_in | hits_in) / (len(tag_in | hits_in) + len(tag_out | hits_out)) < 0.6:
                continue
            chosen.append(t)
            tag_in, tag_out = tag_in | hits_in, tag_out | hits_out
            if len(chosen) == MAX_KEYWORDS:
                break
        return chosen

    def draft(self, groups: list[list[int]], order: list[list[int]], used: set[str]) -> list[Concept]:
        """One Concept per group of chunk indices; `order` lists each group's chunks, most central first.

        Name: the words of the heading that covers most of the group and least outside it (coverage × purity ≥
        0.25, naming half the group) that are among its 15 most distinctive words (drops "the", "statement"),
        at most 3, topped up to 2 from the distinctive words."""
        concepts = []
        for g, ranked, terms in zip(groups, order, self.ctfidf(groups), strict=True):
            have = Counter(h for i in g for h in set(self.paths[i]))
            score = {h: n / len(g) * n / self.heading_df[h] for h, n in have.items()}
            best = min(score, key=lambda h: (-score[h], len(h), h), default="")
            words: list[str] = []
            if best and score[best] >= 0.25 and have[best] >= len(g) / 2:  # names at least half the group
                words = [w for w in dict.fromkeys(m.lower() for m in _WORD.findall(best)) if w in terms[:15]][:3]
            extra = [w for w in terms if _stem(w) not in map(_stem, words)]
            while (len(words) < 2 or snake(words) in used) and extra and len(words) < 4:
                words.append(extra.pop(0))
            name = _unique(snake(words), used)
            about: dict[str, str] = {}
            for w in terms[:10]:
                about.setdefault(_stem(w), w)  # "bill" and "bills" once
            heads = list(dict.fromkeys(self.paths[i][-1] for i in ranked if self.paths[i]))[:3]
            description = f"Chunks about {', '.join(list(about.values())[:5]) or 'no distinctive words'}"
            description += f"; e.g. headings: {'; '.join(heads)}." if heads else "."
            concepts.append(Concept(name=name, description=description, keywords=self.keywords(g)))
        return concepts


def _domain_name(documents: Sequence[Document]) -> str:
    """The documents' common folder; `docs/` and the like name their parent (examples/brindlemoor/docs)."""
    try:
        common = Path(os.path.commonpath([str(Path(d.path).parent) for d in documents if d.path]))
    except ValueError:  # no paths, absolute mixed with relative, or different drives
        return "domain"
    return (common.parent if common.name.lower() in {"doc", "docs", "documents"} else common).name or "domain"


def suggest_ontology(
    chunks: Sequence[Chunk],
    documents: Sequence[Document],
    embedder: Embedder,
    k: int | None = None,
    k_range: tuple[int, int] = (2, 30),
    max_concepts: int = 40,
    seed: int = 0,
    namer: Namer | None = None,
    domain: str | None = None,
    tolerance: float = 0.02,
    context_weight: float = 1.0,
) -> Suggestion:
    """Cluster the chunks into concepts and name them (see the module docstring for the why).

    k: a fixed number of leaf concepts instead of the silhouette search over `k_range` (whose upper end is also
    capped at n/3 and at `max_concepts`, which bounds leaves plus parents). `namer` may rewrite each drafted
    concept (e.g. a teacher's polish); the draft is complete without it. Deterministic given `seed`. Chunks
    with blank text are not clustered (assignment None); the same text twice is embedded once.
    """
    if k is None and min(k_range[1], max_concepts) < 2:
        raise TetherError(f"k range {k_range} / max_concepts {max_concepts}: allow at least 2 concepts, or fix k")
    titles = {d.doc_id: d.title for d in documents}
    usable = [c for c in chunks if c.text.strip()]
    if not usable:
        raise TetherError("no chunk text to draft an ontology from: ingest documents first (tether ingest)")
    texts = [embed_text(c, titles.get(c.doc_id, "")) for c in usable]
    unique = {t: i for i, t in enumerate(dict.fromkeys(texts))}
    emb = np.asarray(embedder.embed(list(unique)), dtype=np.float64)[[unique[t] for t in texts]]
    doc_index = np.unique([c.doc_id for c in usable], return_inverse=True)[1].reshape(-1)
    x = smooth_by_group(emb, doc_index, context_weight)
    n_init = 8 if len(x) <= 2000 else 3  # the k sweep multiplies each run's cost
    curve: dict[int, float] = {}  # k -> mean silhouette
    if k is not None:
        if not 1 <= k <= len(unique):
            raise TetherError(f"k = {k}: must be between 1 and the number of distinct chunks ({len(unique)})")
        labels, criterion = kmeans(x, k, n_init=n_init, seed=seed).labels, f"k = {k}, given"
        curve = {k: float(silhouette_samples(x, labels).mean())} if k >= 2 else {}
    elif len(unique) < MIN_CHUNKS:
        labels, criterion = doc_index, f"one concept per document: {len(unique)} distinct chunks are too few to cluster"
    else:
        hi = min(k_range[1], max_concepts, len(unique) // 3)
        lo = min(max(k_range[0], 2), hi)
        sel = select_k(x, range(lo, hi + 1), tolerance, n_init=n_init, seed=seed)
        labels, curve, best = sel.result.labels, sel.curve, max(sel.curve, key=lambda j: sel.curve[j])
        criterion = (
            f"k = {sel.k}: the smallest k in {lo}..{hi} whose mean cosine silhouette is within {tolerance} of the "
            f"best ({curve[best]:.3f} at k = {best})"
        )
    n_leaves = int(labels.max()) + 1
    groups = [list(np.flatnonzero(labels == j)) for j in range(n_leaves)]
    sil = silhouette_samples(x, labels) if n_leaves >= 2 and curve else None
    centers = np.vstack([x[g].mean(axis=0) for g in groups])
    order = [sorted(g, key=lambda i, j=j: -float(x[i] @ centers[j])) for j, g in enumerate(groups)]
    corpus, used = _Corpus(usable, titles), set()
    leaves = corpus.draft(groups, order, used)
    kept = coherent_groups(centers, PARENT_MIN_SILHOUETTE, seed=seed)[0] if n_leaves >= PARENT_MIN_LEAVES else []
    kept = kept[: max(max_concepts - n_leaves, 0)] if sil is not None else []
    parents: list[Concept] = []
    if kept:
        sub = [[i for j in m for i in groups[j]] for m in kept]
        parents = corpus.draft(sub, [[s[j] for j in np.argsort(-(x[s] @ x[s].mean(axis=0)))] for s in sub], used)
        for m, p in zip(kept, parents, strict=True):
            p.description = f"Groups {', '.join(leaves[j].name for j in m)}. {p.description}"
            for j in m:
                leaves[j].parent = p.name
    members = {c.name: set(g) for c, g in zip(leaves, groups, strict=True)}
    members |= {p.name: {i for c in leaves if c.parent == p.name for i in members[c.name]} for p in parents}
    size = {n: len(m) for n, m in members.items()}
    concepts: list[Concept] = []
    for top in sorted([*parents, *(c for c in leaves if c.parent is None)], key=lambda c: (-size[c.name], c.name)):
        concepts += [top, *sorted((c for c in leaves if c.parent == top.name), key=lambda c: -size[c.name])]
    leaf_names = {c.name for c in leaves}
    if namer is not None:
        examples = {c.name: [texts[i] for i in o[:5]] for c, o in zip(leaves, order, strict=True)}
        concepts, renamed = _apply_namer(concepts, namer, examples)
        members = {renamed[n]: m for n, m in members.items()}
        leaf_names = {renamed[n] for n in leaf_names}
    onto = Ontology(domain=domain or _domain_name(documents), concepts=concepts)
    assignment: dict[str, str | None] = {c.chunk_id: None for c in chunks}
    assignment.update({usable[i].chunk_id: n for n in leaf_names for i in members[n]})
    return Suggestion(
        ontology=onto,
        stats=_stats(onto, members, usable, corpus, sil),
        k=n_leaves,
        criterion=criterion,
        curve={j: round(v, 4) for j, v in curve.items()},
        assignment=assignment,
        n_chunks=len(chunks),
        n_documents=len(documents),
    )


def _stats(
    onto: Ontology, members: dict[str, set[int]], usable: list[Chunk], corpus: _Corpus, sil: np.ndarray | None
) -> list[ConceptStats]:
    """Per concept: size, silhouette, and how well its keywords find its own chunks (KeywordMatcher itself)."""
    tagged: dict[str, set[int]] = defaultdict(set)
    for i, names in enumerate(KeywordMatcher(onto).match([chunk_text(c) for c in usable])):
        for n in names:
            tagged[n].add(i)
    return [
        ConceptStats(
            name=c.name,
            chunks=len(own := members[c.name]),
            documents=len({usable[i].doc_id for i in own}),
            silhouette=None if sil is None else round(float(sil[sorted(own)].mean()), 4),
            keyword_recall=round(len(own & tagged[c.name]) / max(len(own), 1), 3),
            keyword_precision=round(len(own & tagged[c.name]) / max(len(tagged[c.name]), 1), 3),
            example_headings=list(dict.fromkeys(corpus.paths[i][-1] for i in sorted(own) if corpus.paths[i]))[:3],
            children=[d.name for d in onto.concepts if d.parent == c.name],
        )
        for c in onto.concepts
    ]


def _apply_namer(concepts: list[Concept], namer: Namer, examples: dict[str, list[str]]) -> tuple[list, dict]:
    """Let `namer` rewrite each concept (parents come before their children); names are re-snaked and kept
    unique, and the hierarchy stays as drafted. Returns the concepts and old name -> new name."""
    renamed: dict[str, str] = {}
    out: list[Concept] = []
    used: set[str] = set()
    for c in concepts:
        new = namer(c.model_copy(deep=True), examples.get(c.name, [])) or c
        renamed[c.name] = name = _unique(c.name if new.name == c.name else snake(new.name.split()), used)
        out.append(new.model_copy(update={"name": name, "parent": renamed[c.parent] if c.parent else None}))
    return out, renamed


def _q(s: str) -> str:
    """Plain when a snake_case word YAML reads as a string, else JSON (a valid YAML double-quoted scalar)."""
    plain = re.fullmatch(r"[a-z][a-z0-9_]*", s) and s not in _YAML_WORDS
    return s if plain else json.dumps(s, ensure_ascii=False)


def render_ontology_yaml(s: Suggestion) -> str:
    """The YAML text: a header saying it is a draft and how k was chosen, and a comment above each concept."""
    curve = " ".join(f"{k}:{v:.2f}" for k, v in s.curve.items())
    lines = [
        f"# DRAFT ontology suggested by `tether ontology suggest` from {s.n_chunks} chunks of {s.n_documents} "
        "documents.",
        "# Edit it before use: rename, merge, split or drop concepts. Names, descriptions and keywords were taken",
        "# from the documents' headings and distinctive words by a program; nobody has checked them yet.",
        f"# {s.criterion}.",
        *([f"# mean silhouette by k: {curve}"] if curve else []),
        *(
            ["# parents: groups of leaf centroids (k-means), kept at silhouette ≥ 0.25"]
            if any(st.children for st in s.stats)
            else []
        ),
        f"domain: {_q(s.ontology.domain)}",
        "concepts:",
    ]
    for c, st in zip(s.ontology.concepts, s.stats, strict=True):
        sil = f", silhouette {st.silhouette:.2f}" if st.silhouette is not None else ""
        heads = f"; e.g. headings: {'; '.join(st.example_headings)}" if st.example_headings else ""
        lines += [
            f"  # {st.chunks} chunks from {st.documents} document(s){sil}; keywords find {st.keyword_recall:.0%} "
            f"of them at precision {st.keyword_precision:.0%}{heads}".replace("\n", " "),
            f"  - name: {_q(c.name)}",
            f"    description: {_q(c.description)}",
            f"    keywords: [{', '.join(_q(k) for k in c.keywords)}]",
            f"    parent: {_q(c.parent) if c.parent is not None else 'null'}",
        ]
    return "\n".join(lines) + "\n"


def write_ontology_yaml(suggestion: Suggestion, path: Path, force: bool = False) -> Path:
    """Write the draft; an existing file (perhaps a hand-edited ontology) is kept unless `force`."""
    path = Path(path)
    if path.exists() and not force:
        raise TetherError(f"{path} already exists: pass --force to overwrite it, or write the draft elsewhere")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_ontology_yaml(suggestion), encoding="utf-8")
    return path
