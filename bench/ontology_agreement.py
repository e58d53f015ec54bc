"""How well does `suggest_ontology` recover a hand-written ontology? Run by hand:

    python bench/ontology_agreement.py                     # examples/brindlemoor and pyref (built into a temp dir)
    python bench/ontology_agreement.py --sweep             # also ARI at every k of the silhouette curve
    python bench/ontology_agreement.py --context-weight 0  # without document-context smoothing
    python bench/ontology_agreement.py --out /tmp/drafts   # keep the drafted YAML files

For each domain: ingest its docs into a temporary workspace (`tether init --domain` + `tether ingest`), label
every chunk with its hand concept by the keyword matcher (the concept with the most keyword hits in
`chunk_text`, ties to the earlier concept; chunks no concept matches are left out and counted), draft an
ontology with the real MiniLM embedder, and report the adjusted Rand index between the drafted leaf concepts and
the hand concepts, beside two references: one cluster per document, and the keyword-labelled hand concepts'
own document spread. Then each suggested name next to the hand concept it overlaps most.

Keyword labels are themselves noisy (a chunk about parking fines that mentions the council counts once, for
whichever concept has more hits), so read ARI against them as agreement, not accuracy.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from tether.embed.embedder import OnnxMiniLM
from tether.measure.clustering import adjusted_rand_index
from tether.measure.concepts import chunk_text
from tether.measure.suggest import suggest_ontology, write_ontology_yaml
from tether.seeds.ontology import KeywordMatcher, Ontology, load_ontology
from tether.workspace.store import Workspace

ROOT = Path(__file__).resolve().parents[1]


class MemoEmbedder:
    """Embeds each text once per process: the k sweep re-runs suggest_ontology on the same chunks."""

    def __init__(self, inner: OnnxMiniLM):
        self.inner, self.model_id, self.dim = inner, inner.model_id, inner.dim
        self.memo: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if todo:
            self.memo.update(zip(todo, self.inner.embed(todo), strict=True))
        return np.vstack([self.memo[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)


def hand_labels(onto: Ontology, texts: list[str]) -> tuple[list[str | None], int]:
    """Per text the hand concept with the most keyword hits (None: no hit), and how many had several."""
    matcher = KeywordMatcher(onto)
    out: list[str | None] = []
    several = 0
    for t in texts:
        hits = [(len(pat.findall(t)), -j, name) for j, (name, pat) in enumerate(matcher.patterns)]
        found = [h for h in hits if h[0] > 0]
        several += len(found) > 1
        out.append(max(found)[2] if found else None)
    return out, several


def ingest(domain: Path, tmp: Path) -> Workspace:
    ws_dir = tmp / f"ws-{domain.name}"
    cli = [sys.executable, "-c", "from tether.cli import main; main()"]
    for args in (["init", str(ws_dir), "--domain", str(domain)], ["ingest", "-w", str(ws_dir)]):
        subprocess.run([*cli, *args], check=True, capture_output=True, text=True)
    return Workspace.open(ws_dir)


def run(domain: Path, tmp: Path, out: Path, embedder: MemoEmbedder, context_weight: float, sweep: bool) -> float:
    ws = ingest(domain, tmp)
    head = ws.head()
    assert head is not None, f"nothing ingested from {domain}"
    chunks, docs = ws.chunks(head), ws.documents(head)
    hand_onto = load_ontology(domain / "ontology.yaml")
    hand, several = hand_labels(hand_onto, [chunk_text(c) for c in chunks])
    keep = [i for i, h in enumerate(hand) if h is not None]
    t0 = time.perf_counter()
    s = suggest_ontology(chunks, docs, embedder, context_weight=context_weight)
    took = time.perf_counter() - t0
    got = [s.assignment[chunks[i].chunk_id] for i in keep]
    want = [hand[i] for i in keep]
    ari = adjusted_rand_index(got, want)
    by_doc = adjusted_rand_index([chunks[i].doc_id for i in keep], want)
    draft = write_ontology_yaml(s, out / f"{domain.name}-suggested.yaml", force=True)
    assert load_ontology(draft) == s.ontology, "the written draft does not load back"
    print(f"\n## {domain.name}: {len(chunks)} chunks, {len(docs)} documents, {len(hand_onto.concepts)} hand concepts")
    print(
        f"hand labels: {len(keep)} chunks; {len(chunks) - len(keep)} matched no concept (left out), {several} several"
    )
    print(
        f"(most hits taken). Suggested {s.k} leaf concepts + {len(s.ontology.concepts) - s.k} parents in {took:.1f} s"
    )
    print(f"({s.criterion}); draft: {draft}")
    print(f"ARI suggested vs hand: {ari:.3f}   (one cluster per document vs hand: {by_doc:.3f})")
    if sweep:
        aris = {}
        for k in s.curve:
            r = suggest_ontology(chunks, docs, embedder, k=k, context_weight=context_weight)
            aris[k] = adjusted_rand_index([r.assignment[chunks[i].chunk_id] for i in keep], want)
        best = max(aris, key=lambda k: aris[k])
        print(f"ARI by k (best {aris[best]:.3f} at k = {best}):")
        print("  " + " ".join(f"{k}:{a:.2f}" for k, a in aris.items()))
    print("\n| suggested concept | chunks | keyword recall / precision | best-overlapping hand concept | shared |")
    print("|---|---|---|---|---|")
    stats = {st.name: st for st in s.stats}
    for c in s.ontology.concepts:
        if stats[c.name].children:
            print(f"| **{c.name}** (parent of {len(stats[c.name].children)}) | {stats[c.name].chunks} | | | |")
            continue
        overlap = Counter(hand[i] for i in keep if s.assignment[chunks[i].chunk_id] == c.name)
        name, shared = overlap.most_common(1)[0] if overlap else ("-", 0)
        st = stats[c.name]
        print(
            f"| {'  ' if c.parent else ''}{c.name} | {st.chunks} | {st.keyword_recall:.2f} / "
            f"{st.keyword_precision:.2f} | {name} | {shared}/{sum(overlap.values())} |"
        )
    return ari


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("domains", nargs="*", type=Path, help="domain folders (default: brindlemoor and pyref)")
    ap.add_argument("--context-weight", type=float, default=1.0)
    ap.add_argument("--sweep", action="store_true", help="also ARI at every k tried")
    ap.add_argument("--out", type=Path, help="keep the drafted ontology.yaml files here (default: a temp dir)")
    args = ap.parse_args(argv)
    embedder = MemoEmbedder(OnnxMiniLM())
    with tempfile.TemporaryDirectory(prefix="tether-agree-") as tmp_s:
        tmp = Path(tmp_s)
        domains = list(args.domains)
        if not domains:
            pyref = tmp / "pyref"
            subprocess.run([sys.executable, str(ROOT / "bench/domains/pyref/build.py"), str(pyref)], check=True)
            domains = [ROOT / "examples" / "brindlemoor", pyref]
        out = args.out or tmp
        out.mkdir(parents=True, exist_ok=True)
        results = {d.name: run(d, tmp, out, embedder, args.context_weight, args.sweep) for d in domains}
    print("\nsummary: " + ", ".join(f"{n} ARI {a:.3f}" for n, a in results.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
