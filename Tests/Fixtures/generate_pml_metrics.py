#!/usr/bin/env python3
"""Generate golden retrieval and clustering-score fixtures for Simile's evaluation.

Run from the repository root:

    /tmp/pmlvenv/bin/python Tests/Fixtures/generate_pml_metrics.py

It needs pytorch-metric-learning 2.9.0, torch and scikit-learn. It writes

- Tests/Fixtures/pml/metrics/knn.json: the kNN metrics of PML's AccuracyCalculator
  (precision_at_1, r_precision, mean_average_precision_at_r, mean_average_precision,
  mean_reciprocal_rank) on seeded data sets, leave-one-out and query/reference, with several
  values of k, avg_of_avgs, and both Euclidean and cosine neighbours;
- Tests/Fixtures/pml/metrics/mutual_information.json: scikit-learn's
  normalized_mutual_info_score and adjusted_mutual_info_score for fixed label/cluster pairs
  (the information-theoretic part alone, without any k-means).

PML 2.9.0 here has no faiss, so the neighbours come from PML's own CustomKNN: with
LpDistance(normalize_embeddings=False) it ranks by the raw Euclidean distance, which is the
order faiss.IndexFlatL2 (PML's default) gives; with CosineSimilarity it ranks by cosine
similarity. Clustering metrics are excluded from the kNN cases (they need faiss k-means).

The script only calls PML and scikit-learn; every expected number comes from them.
Embeddings are rounded to float32 before they are written, because AccuracyCalculator casts
its inputs to float32: Simile then reads exactly the numbers PML ranked. The generator checks
that no row has two neighbours whose squared distances differ by less than 2e-6 of the squared
norms (redrawing the data set when one does), so that float32 rounding cannot reorder them.
"""

import json
import math
import zlib
from pathlib import Path

import numpy as np
import sklearn
import torch
import pytorch_metric_learning
from pytorch_metric_learning.distances import CosineSimilarity, LpDistance
from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
from pytorch_metric_learning.utils.inference import CustomKNN
from sklearn.metrics import adjusted_mutual_info_score, normalized_mutual_info_score

OUT_DIR = Path(__file__).resolve().parent / "pml" / "metrics"
KNN_METRICS = [
    "precision_at_1",
    "r_precision",
    "mean_average_precision_at_r",
    "mean_average_precision",
    "mean_reciprocal_rank",
]
GENERATOR = {
    "pml": pytorch_metric_learning.__version__,
    "torch": torch.__version__,
    "sklearn": sklearn.__version__,
}

torch.set_num_threads(1)


def rng_for(case_id):
    return np.random.default_rng(zlib.crc32(case_id.encode()))


def clustered(rng, labels, dim, spread, noise=1.0):
    """Gaussian class centres (scale `spread`) plus N(0, noise²) per point, rounded to float32."""
    labels = np.asarray(labels)
    centres = {c: rng.normal(0.0, spread, size=dim) for c in sorted(set(labels.tolist()))}
    x = np.stack([centres[c] + rng.normal(0.0, noise, size=dim) for c in labels.tolist()])
    return x.astype(np.float32).astype(np.float64)


def labels_from_sizes(rng, sizes, first_label=0):
    labels = np.concatenate([np.full(s, first_label + c) for c, s in enumerate(sizes)])
    return rng.permutation(labels)


def check_no_near_ties(query, reference, cosine):
    """True when, in every row, consecutive squared distances differ by more than 2e-6 of the
    squared norms: float32 Gram-matrix rounding (about 1e-7 of them) cannot then swap two
    neighbours, in PML or in Simile."""
    q = torch.tensor(query, dtype=torch.float64)
    r = torch.tensor(reference, dtype=torch.float64)
    if cosine:
        q = torch.nn.functional.normalize(q, dim=1)
        r = torch.nn.functional.normalize(r, dim=1)
    d2 = (torch.cdist(q, r) ** 2).sort(dim=1).values
    scale = (q * q).sum(1, keepdim=True) + (r * r).sum(1).max()
    gaps = (d2[:, 1:] - d2[:, :-1]) / scale
    # Column 0 may be the query itself (distance 0) in leave-one-out.
    return d2.shape[1] <= 2 or gaps[:, 1:].min().item() > 2e-6


def pml_knn(query, query_labels, reference, reference_labels, k, avg_of_avgs, cosine, ref_includes_query):
    distance = CosineSimilarity() if cosine else LpDistance(normalize_embeddings=False)
    calculator = AccuracyCalculator(
        include=tuple(KNN_METRICS),
        k=k,
        avg_of_avgs=avg_of_avgs,
        device=torch.device("cpu"),
        knn_func=CustomKNN(distance),
    )
    args = [torch.tensor(query), torch.tensor(query_labels)]
    if reference is not None:
        args += [torch.tensor(reference), torch.tensor(reference_labels), ref_includes_query]
    result = calculator.get_accuracy(*args)
    return {name: (None if math.isnan(result[name]) else float(result[name])) for name in KNN_METRICS}


def knn_case(case_id, query, query_labels, reference=None, reference_labels=None, *, k=None,
             avg_of_avgs=False, cosine=False, ref_includes_query=False):
    assert check_no_near_ties(query, query if reference is None else reference, cosine), \
        f"{case_id}: two neighbours nearly tie; change the data set's seed"
    expected = pml_knn(query, query_labels, reference, reference_labels, k, avg_of_avgs, cosine,
                       ref_includes_query)
    if reference is None:
        mode = "leave-one-out"
    elif ref_includes_query:
        mode = "reference-includes-query"
    else:
        mode = "query-reference"
    return {
        "id": case_id,
        "mode": mode,
        "k": "all" if k is None else ("max-bin-count" if k == "max_bin_count" else k),
        "avg_of_avgs": avg_of_avgs,
        "distance": "cosine" if cosine else "euclidean",
        "query": query.tolist(),
        "query_labels": [int(v) for v in query_labels],
        "reference": None if reference is None else reference.tolist(),
        "reference_labels": None if reference_labels is None else [int(v) for v in reference_labels],
        "expected": expected,
    }


def draw(name, build):
    """The first data set `build(rng)` makes, over seeds derived from `name` and an attempt
    number, whose neighbours do not nearly tie (in Euclidean or cosine order)."""
    for attempt in range(100):
        query, query_labels, reference, reference_labels = build(rng_for(f"{name}#{attempt}"))
        ref = query if reference is None else reference
        if check_no_near_ties(query, ref, False) and check_no_near_ties(query, ref, True):
            return query, query_labels, reference, reference_labels
    raise RuntimeError(f"{name}: no tie-free data set in 100 attempts")


def knn_cases():
    cases = []

    # Leave-one-out, classes of many sizes including singletons (lone queries).
    def loo_mixed(rng):
        labels = labels_from_sizes(rng, [9, 7, 6, 5, 5, 4, 3, 2, 2, 1, 1, 1])
        return clustered(rng, labels, dim=6, spread=1.2), labels, None, None
    x, labels, _, _ = draw("loo-mixed", loo_mixed)
    for k in [None, "max_bin_count", 3, 1, 12]:
        for avg in [False, True]:
            cases.append(knn_case(f"loo-mixed/k={k}/avg_of_avgs={avg}", x, labels, k=k, avg_of_avgs=avg))
    cases.append(knn_case("loo-mixed/cosine", x, labels, cosine=True))
    cases.append(knn_case("loo-mixed/cosine/max_bin_count", x, labels, k="max_bin_count", cosine=True))

    # Leave-one-out, low dimension and heavy overlap: ranks spread far.
    def loo_overlap(rng):
        labels = labels_from_sizes(rng, [8, 8, 6, 6, 4, 3])
        return clustered(rng, labels, dim=3, spread=0.5), labels, None, None
    x, labels, _, _ = draw("loo-overlap", loo_overlap)
    for k in [None, "max_bin_count", 5]:
        cases.append(knn_case(f"loo-overlap/k={k}", x, labels, k=k))

    # Query/reference: one query class (7) absent from the reference, reference classes absent
    # from the queries (8, 9), singleton classes on both sides.
    def query_reference(rng):
        reference_labels = labels_from_sizes(rng, [6, 5, 5, 4, 3, 2, 1, 1, 1, 1])
        reference_labels = np.where(reference_labels == 7, 9, reference_labels)  # labels 0..6, 8, 9
        query_labels = labels_from_sizes(rng, [3, 3, 2, 2, 2, 1, 1, 2])  # 0..7; 7 is not a reference label
        x_all = clustered(rng, np.concatenate([query_labels, reference_labels]), dim=5, spread=1.0)
        return x_all[: len(query_labels)], query_labels, x_all[len(query_labels):], reference_labels
    query, query_labels, reference, reference_labels = draw("query-reference", query_reference)
    for k in [None, "max_bin_count", 2]:
        for avg in [False, True]:
            cases.append(knn_case(f"query-reference/k={k}/avg_of_avgs={avg}", query, query_labels,
                                  reference, reference_labels, k=k, avg_of_avgs=avg))
    cases.append(knn_case("query-reference/cosine", query, query_labels, reference, reference_labels,
                          cosine=True))

    # No query label occurs in the reference: PML returns NaN for every kNN metric.
    def no_match(rng):
        query_labels = np.array([10, 11, 10, 12])
        reference_labels = np.array([0, 1, 2, 0, 1])
        x_all = clustered(rng, np.concatenate([query_labels, reference_labels]), dim=4, spread=1.0)
        return x_all[:4], query_labels, x_all[4:], reference_labels
    cases.append(knn_case("no-match", *draw("no-match", no_match)))

    # The reference starts with the queries (PML's ref_includes_query=True).
    def includes_query(rng):
        query_labels = labels_from_sizes(rng, [4, 3, 3, 2, 1])
        extra_labels = labels_from_sizes(rng, [3, 2, 2, 1, 2, 1])  # labels 0..5; 5 only here
        all_labels = np.concatenate([query_labels, extra_labels])
        x_all = clustered(rng, all_labels, dim=4, spread=1.0)
        return x_all[: len(query_labels)], query_labels, x_all, all_labels
    query, query_labels, reference, reference_labels = draw("reference-includes-query", includes_query)
    for k in [None, "max_bin_count"]:
        cases.append(knn_case(f"reference-includes-query/k={k}", query, query_labels, reference,
                              reference_labels, k=k, ref_includes_query=True))

    # A larger leave-one-out set (30 classes of 1..6).
    def loo_large(rng):
        labels = labels_from_sizes(rng, rng.integers(1, 7, size=30).tolist())
        return clustered(rng, labels, dim=16, spread=0.6), labels, None, None
    x, labels, _, _ = draw("loo-large", loo_large)
    cases.append(knn_case("loo-large", x, labels))
    cases.append(knn_case("loo-large/max_bin_count/avg_of_avgs", x, labels, k="max_bin_count", avg_of_avgs=True))
    return cases


def mutual_information_cases():
    cases = []

    def add(case_id, truth, clusters):
        truth = [int(v) for v in truth]
        clusters = [int(v) for v in clusters]
        cases.append({
            "id": case_id,
            "labels": truth,
            "clusters": clusters,
            "nmi": float(normalized_mutual_info_score(truth, clusters)),
            "ami": float(adjusted_mutual_info_score(truth, clusters)),
        })

    add("identical", [0, 0, 1, 1, 2, 2], [5, 5, 3, 3, 9, 9])
    add("independent-2x2", [0, 0, 1, 1], [0, 1, 0, 1])
    add("one-class", [0, 0, 0, 0], [0, 1, 2, 3])
    add("one-cluster", [0, 1, 2, 0, 1], [7, 7, 7, 7, 7])
    add("both-one", [3, 3, 3], [1, 1, 1])
    add("all-singletons", list(range(7)), list(range(7)))
    add("singletons-vs-pairs", list(range(8)), [0, 0, 1, 1, 2, 2, 3, 3])
    add("sklearn-doc", [0, 0, 1, 1], [1, 1, 0, 0])
    add("small-mixed", [0, 0, 0, 1, 1, 1, 2, 2, 2], [0, 0, 1, 1, 1, 2, 2, 2, 0])
    for seed, (n, a, b) in enumerate([(30, 3, 4), (100, 10, 10), (200, 7, 12), (500, 50, 50),
                                      (1000, 100, 100), (2000, 20, 200), (3000, 300, 280)]):
        rng = rng_for(f"mi/{seed}")
        truth = rng.integers(0, a, size=n)
        # Clusters that agree with the truth for about half of the points.
        clusters = np.where(rng.random(n) < 0.5, truth % b, rng.integers(0, b, size=n))
        add(f"random/n={n}/classes={a}/clusters={b}", truth, clusters)
    # Skewed sizes: one dominant class.
    rng = rng_for("mi/skewed")
    truth = np.where(rng.random(400) < 0.9, 0, rng.integers(1, 6, size=400))
    clusters = np.where(rng.random(400) < 0.7, truth, rng.integers(0, 8, size=400))
    add("skewed/n=400", truth, clusters)
    return cases


def write(name, payload):
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / name
    # One case per line: compact, and a regenerated file still diffs case by case.
    head = {k: v for k, v in payload.items() if k != "cases"}
    lines = [json.dumps(case, separators=(",", ":")) for case in payload["cases"]]
    text = json.dumps(head)[:-1] + ', "cases": [\n' + ",\n".join(lines) + "\n]}\n"
    json.loads(text)
    path.write_text(text)
    print(f"wrote {path} ({len(payload['cases'])} cases)")


def main():
    write("knn.json", {"generator": GENERATOR, "metrics": KNN_METRICS, "cases": knn_cases()})
    write("mutual_information.json", {"generator": GENERATOR, "cases": mutual_information_cases()})


if __name__ == "__main__":
    main()
