#!/usr/bin/env python3
"""Generate golden miner fixtures from pytorch-metric-learning (PML).

Run from the repository root:

    /tmp/pmlvenv/bin/python Tests/Fixtures/generate_pml_miners.py

It needs pytorch-metric-learning 2.9.0 and torch (CPU is enough). Everything runs in float64
with fixed seeds and one CPU thread, so the output is reproducible. One file per deterministic
miner is written to Tests/Fixtures/pml/miners/<simile-name>.json:

    {"miner": "batch-hard", "generator": {...}, "cases": [
      {"id": "batch-hard/default", "parameters": ["distance=cosine"], "pml": "BatchHardMiner(...)",
       "input": {"embeddings": [[...]], "labels": [...], "reference_embeddings"?: ..., "reference_labels"?: ...},
       "expected": {"triplets": [[a, p, n], ...]}  or  {"pairs": {"positive": [[a, p], ...], "negative": [[a, n], ...]}}}]}

`expected` has the form `simile compute miner` prints and `simile compute loss --input` reads under
"tuples", in PML's order. Tests compare the tuples as sets.

No case sits on a decision boundary: every case is re-mined after adding noise of 1e-8 to the
embeddings (four draws); if any tuple changes, the seed is advanced and the case drawn again. So
differences of 1e-15 between PML's and Simile's distances cannot change the result. For `hdc`,
whose cut is global, the generator also checks that the k-th and (k+1)-th values of each side
differ (pairs (i, j) and (j, i) of one batch have equal distances, so k must not split them).

This script only *calls* PML: every tuple comes from PML's own miners.
"""

import json
import math
import zlib
from pathlib import Path

import torch
import torch.nn.functional as F
import pytorch_metric_learning
from pytorch_metric_learning import distances, miners

DTYPE = torch.float64
OUT_DIR = Path(__file__).resolve().parent / "pml" / "miners"
GENERATOR = {
    "pml": pytorch_metric_learning.__version__,
    "torch": torch.__version__,
    "dtype": "float64",
}
torch.set_num_threads(1)

STANDARD_LABELS = [0, 1, 2, 3, 1, 0, 3, 2, 2, 3, 0, 1, 3, 2, 1, 0]
SINGLETON_LABELS = [0, 0, 0, 1, 1, 2, 1, 0, 1]
REFERENCE_QUERY_LABELS = [0, 1, 2, 3] * 3
REFERENCE_LABELS = [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]


def randn(rows, cols, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(rows, cols, generator=g, dtype=DTYPE)


def inputs(kind, seed):
    """(embeddings, labels, reference, reference_labels) of a standard input kind."""
    if kind == "default":
        return randn(16, 8, seed), STANDARD_LABELS, None, None
    if kind == "singleton":
        return randn(9, 6, seed), SINGLETON_LABELS, None, None
    if kind == "one-label":
        return randn(8, 5, seed), [3] * 8, None, None
    if kind == "reference":
        return randn(12, 8, seed), REFERENCE_QUERY_LABELS, randn(10, 8, seed + 7919), REFERENCE_LABELS
    if kind == "scaled":
        # Rows of very different norms: the raw and the normalised geometry differ.
        x = randn(16, 8, seed)
        scales = torch.tensor([0.2, 1.0, 3.0, 0.5] * 4, dtype=DTYPE).unsqueeze(1)
        return x * scales, STANDARD_LABELS, None, None
    raise ValueError(kind)


def tuples_json(output):
    output = [t.tolist() for t in output]
    if len(output) == 3:
        return {"triplets": [list(t) for t in zip(*output)]}
    a1, p, a2, n = output
    return {"pairs": {"positive": [list(t) for t in zip(a1, p)], "negative": [list(t) for t in zip(a2, n)]}}


def as_sets(output):
    output = [t.tolist() for t in output]
    if len(output) == 3:
        return (frozenset(zip(*output)),)
    return (frozenset(zip(output[0], output[1])), frozenset(zip(output[2], output[3])))


class Case:
    def __init__(self, miner, suffix, parameters, build, pml, kind="default", prepare=None, hdc=None):
        """build() makes the PML miner; prepare(x) maps the embeddings PML sees (e.g. normalises)."""
        self.id = f"{miner}/{suffix}"
        self.parameters = parameters
        self.build = build
        self.pml = pml
        self.kind = kind
        self.prepare = prepare or (lambda x: x)
        self.hdc = hdc  # (filter_percentage, is_similarity) for the cut check

    def run(self, x, labels, ref, ref_labels):
        miner = self.build()
        labels = torch.tensor(labels)
        if ref is None:
            return miner(self.prepare(x), labels)
        return miner(self.prepare(x), labels, self.prepare(ref), torch.tensor(ref_labels))

    def robust(self, x, labels, ref, ref_labels, output):
        base = as_sets(output)
        g = torch.Generator().manual_seed(99)
        for _ in range(4):
            nx = x + 1e-8 * torch.randn(x.shape, generator=g, dtype=DTYPE)
            nref = None if ref is None else ref + 1e-8 * torch.randn(ref.shape, generator=g, dtype=DTYPE)
            if as_sets(self.run(nx, labels, nref, ref_labels)) != base:
                return False
        if self.hdc is not None and not self.hdc_cut_is_clear(x, labels, ref, ref_labels):
            return False
        return True

    def hdc_cut_is_clear(self, x, labels, ref, ref_labels):
        fraction, similarity = self.hdc
        dist = distances.CosineSimilarity() if similarity else distances.LpDistance()
        mat = dist(self.prepare(x), None if ref is None else self.prepare(ref))
        lab = torch.tensor(labels)
        rlab = lab if ref is None else torch.tensor(ref_labels)
        same = lab.unsqueeze(1) == rlab.unsqueeze(0)
        diff = ~same
        if ref is None:
            same.fill_diagonal_(False)
        for values, largest in ((mat[same], not similarity), (mat[diff], similarity)):
            k = int(math.ceil(fraction * len(values)))
            if k == 0 or k >= len(values):
                continue
            ordered = torch.sort(values, descending=largest).values
            if abs(ordered[k - 1].item() - ordered[k].item()) < 1e-9:
                return False
        return True

    def generate(self):
        seed = zlib.crc32(self.id.encode())
        for attempt in range(50):
            x, labels, ref, ref_labels = inputs(self.kind, seed + attempt)
            output = self.run(x, labels, ref, ref_labels)
            if self.robust(x, labels, ref, ref_labels, output):
                break
        else:
            raise RuntimeError(f"{self.id}: no robust input in 50 seeds")
        data = {"embeddings": x.tolist(), "labels": labels}
        if ref is not None:
            data["reference_embeddings"] = ref.tolist()
            data["reference_labels"] = ref_labels
        expected = tuples_json(output)
        return {"id": self.id, "parameters": self.parameters, "pml": self.pml, "input": data, "expected": expected,
                "size": len(expected["triplets"]) if "triplets" in expected else
                [len(expected["pairs"]["positive"]), len(expected["pairs"]["negative"])]}


def lp():
    return distances.LpDistance()


def cosine():
    return distances.CosineSimilarity()


def lp_squared():
    return distances.LpDistance(power=2)


DIST = {None: (lp, "LpDistance()"), "cosine": (cosine, "CosineSimilarity()"),
        "lp(power=2)": (lp_squared, "LpDistance(power=2)"), "lp": (lp, "LpDistance()")}


def keywords(kwargs):
    """", k=v, ..." for a PML constructor's extra keyword arguments (empty when there are none)."""
    return "".join(f", {k}={v!r}" for k, v in kwargs.items())


def with_distance(parameters, distance):
    return parameters + ([f"distance={distance}"] if distance else [])


def cases():
    all_cases = {}

    def add(miner, case):
        all_cases.setdefault(miner, []).append(case)

    # batch-all: every valid triplet = TripletMarginMiner(margin=inf, type "all").
    for kind in ["default", "singleton", "one-label", "reference"]:
        add("batch-all", Case("batch-all", kind, [],
                              lambda: miners.TripletMarginMiner(margin=float("inf"), type_of_triplets="all"),
                              "TripletMarginMiner(margin=inf, type_of_triplets='all')", kind))

    # batch-hard
    for suffix, kind, distance, kwargs in [
        ("default", "default", None, {}),
        ("cosine", "default", "cosine", {}),
        ("lp-squared", "default", "lp(power=2)", {}),
        ("ranges", "default", None, {"allowed_pos_range": (0.3, 1.1), "allowed_neg_range": (0.9, 1.8)}),
        ("singleton", "singleton", None, {}),
        ("one-label", "one-label", None, {}),
        ("reference", "reference", None, {}),
        ("reference-cosine", "reference", "cosine", {}),
    ]:
        make, text = DIST[distance]
        params = with_distance([], distance)
        if "allowed_pos_range" in kwargs:
            params = [f"allowed-pos-range=[{kwargs['allowed_pos_range'][0]}, {kwargs['allowed_pos_range'][1]}]",
                      f"allowed-neg-range=[{kwargs['allowed_neg_range'][0]}, {kwargs['allowed_neg_range'][1]}]"] + params
        add("batch-hard", Case("batch-hard", suffix, params,
                               lambda make=make, kwargs=kwargs: miners.BatchHardMiner(distance=make(), **kwargs),
                               f"BatchHardMiner(distance={text}{keywords(kwargs)})", kind))

    # batch-easy-hard: every allowed combination, then distances, ranges and inputs.
    strategies = ["easy", "semihard", "hard", "all"]
    for pos in strategies:
        for neg in strategies:
            if pos == neg == "semihard" or {pos, neg} == {"semihard", "all"}:
                continue
            params = [] if (pos, neg) == ("easy", "semihard") else [f"pos-strategy={pos}", f"neg-strategy={neg}"]
            add("batch-easy-hard", Case(
                "batch-easy-hard", f"{pos}-{neg}", params,
                lambda pos=pos, neg=neg: miners.BatchEasyHardMiner(pos_strategy=pos, neg_strategy=neg),
                f"BatchEasyHardMiner(pos_strategy='{pos}', neg_strategy='{neg}')"))
    for suffix, kind, distance, pos, neg, kwargs in [
        ("cosine-easy-semihard", "default", "cosine", "easy", "semihard", {}),
        ("cosine-semihard-hard", "default", "cosine", "semihard", "hard", {}),
        ("cosine-hard-easy", "default", "cosine", "hard", "easy", {}),
        ("cosine-semihard-easy", "default", "cosine", "semihard", "easy", {}),
        ("ranges-hard-hard", "default", None, "hard", "hard", {"allowed_pos_range": (0.2, 1.0), "allowed_neg_range": (1.0, 1.6)}),
        ("ranges-easy-semihard", "default", None, "easy", "semihard", {"allowed_pos_range": (0.6, 1.4), "allowed_neg_range": (0.5, 1.3)}),
        ("ranges-semihard-hard", "default", None, "semihard", "hard", {"allowed_pos_range": (0.5, 2.0), "allowed_neg_range": (1.1, 2.0)}),
        ("cosine-ranges-all-hard", "default", "cosine", "all", "hard", {"allowed_pos_range": (-0.5, 0.5), "allowed_neg_range": (-0.3, 0.4)}),
        ("singleton", "singleton", None, "easy", "semihard", {}),
        ("reference", "reference", None, "easy", "semihard", {}),
        ("reference-hard-all", "reference", None, "hard", "all", {}),
    ]:
        make, text = DIST[distance]
        params = [] if (pos, neg) == ("easy", "semihard") else [f"pos-strategy={pos}", f"neg-strategy={neg}"]
        if kwargs:
            params += [f"allowed-pos-range=[{kwargs['allowed_pos_range'][0]}, {kwargs['allowed_pos_range'][1]}]",
                       f"allowed-neg-range=[{kwargs['allowed_neg_range'][0]}, {kwargs['allowed_neg_range'][1]}]"]
        params = with_distance(params, distance)
        add("batch-easy-hard", Case(
            "batch-easy-hard", suffix, params,
            lambda make=make, pos=pos, neg=neg, kwargs=kwargs: miners.BatchEasyHardMiner(
                pos_strategy=pos, neg_strategy=neg, distance=make(), **kwargs),
            f"BatchEasyHardMiner(pos_strategy='{pos}', neg_strategy='{neg}', distance={text}{keywords(kwargs)})", kind))

    # triplet-margin
    for suffix, kind, distance, margin, kind_of in [
        ("default", "default", None, 0.2, "all"),
        ("hard", "default", None, 0.2, "hard"),
        ("semihard", "default", None, 0.2, "semihard"),
        ("easy", "default", None, 0.2, "easy"),
        ("all-margin", "default", None, 0.5, "all"),
        ("hard-negative-margin", "default", None, -0.1, "hard"),
        ("semihard-cosine", "default", "cosine", 0.3, "semihard"),
        ("all-cosine", "default", "cosine", 0.1, "all"),
        ("easy-lp-squared", "default", "lp(power=2)", 0.4, "easy"),
        ("singleton", "singleton", None, 0.2, "all"),
        ("one-label", "one-label", None, 0.2, "all"),
        ("reference", "reference", None, 0.2, "semihard"),
        ("reference-all", "reference", None, 0.2, "all"),
    ]:
        make, text = DIST[distance]
        params = ([] if margin == 0.2 else [f"margin={margin}"]) + ([] if kind_of == "all" else [f"type-of-triplets={kind_of}"])
        params = with_distance(params, distance)
        add("triplet-margin", Case(
            "triplet-margin", suffix, params,
            lambda make=make, margin=margin, kind_of=kind_of: miners.TripletMarginMiner(
                margin=margin, type_of_triplets=kind_of, distance=make()),
            f"TripletMarginMiner(margin={margin}, type_of_triplets='{kind_of}', distance={text})", kind))

    # semi-hard = TripletMarginMiner(type_of_triplets="semihard")
    for suffix, kind, distance, margin in [
        ("default", "default", None, 0.2), ("margin", "default", None, 0.1), ("cosine", "default", "cosine", 0.2),
        ("singleton", "singleton", None, 0.2), ("reference", "reference", None, 0.3),
    ]:
        make, text = DIST[distance]
        params = with_distance([] if margin == 0.2 else [f"margin={margin}"], distance)
        add("semi-hard", Case(
            "semi-hard", suffix, params,
            lambda make=make, margin=margin: miners.TripletMarginMiner(
                margin=margin, type_of_triplets="semihard", distance=make()),
            f"TripletMarginMiner(margin={margin}, type_of_triplets='semihard', distance={text})", kind))

    # pair-margin
    for suffix, kind, distance, pm, nm in [
        ("default", "default", None, 0.2, 0.8), ("margins", "default", None, 1.0, 1.3),
        ("cosine", "default", "cosine", 0.5, 0.1), ("lp-squared", "default", "lp(power=2)", 1.0, 1.9),
        ("singleton", "singleton", None, 0.9, 1.2), ("reference", "reference", None, 1.0, 1.3),
    ]:
        make, text = DIST[distance]
        params = [] if (pm, nm) == (0.2, 0.8) else [f"pos-margin={pm}", f"neg-margin={nm}"]
        add("pair-margin", Case(
            "pair-margin", suffix, with_distance(params, distance),
            lambda make=make, pm=pm, nm=nm: miners.PairMarginMiner(pos_margin=pm, neg_margin=nm, distance=make()),
            f"PairMarginMiner(pos_margin={pm}, neg_margin={nm}, distance={text})", kind))

    # multi-similarity (default distance: cosine)
    for suffix, kind, distance, eps in [
        ("default", "default", None, 0.1), ("epsilon", "default", None, 0.3), ("lp", "default", "lp", 0.1),
        ("singleton", "singleton", None, 0.1), ("one-label", "one-label", None, 0.1),
        ("reference", "reference", None, 0.1), ("reference-lp", "reference", "lp", 0.05),
    ]:
        make, text = (cosine, "CosineSimilarity()") if distance is None else DIST[distance]
        params = with_distance([] if eps == 0.1 else [f"epsilon={eps}"], distance)
        add("multi-similarity", Case(
            "multi-similarity", suffix, params,
            lambda make=make, eps=eps: miners.MultiSimilarityMiner(epsilon=eps, distance=make()),
            f"MultiSimilarityMiner(epsilon={eps}, distance={text})", kind))

    # angular: PML measures on raw embeddings; normalize=true is PML on normalised inputs.
    normalize = lambda x: F.normalize(x, p=2, dim=1)  # noqa: E731
    for suffix, kind, angle, normalized in [
        ("default", "default", 20, False), ("angle", "default", 35, False), ("scaled", "scaled", 20, False),
        ("normalize", "scaled", 30, True), ("singleton", "singleton", 25, False),
        ("reference", "reference", 30, False), ("reference-normalize", "reference", 40, True),
    ]:
        params = ([] if angle == 20 else [f"angle={angle}"]) + (["normalize=true"] if normalized else [])
        add("angular", Case(
            "angular", suffix, params, lambda angle=angle: miners.AngularMiner(angle=angle),
            f"AngularMiner(angle={angle})" + (" on F.normalize(embeddings)" if normalized else ""), kind,
            prepare=normalize if normalized else None))

    # hdc (k must not split the two orders of one pair: see hdc_cut_is_clear)
    for suffix, kind, distance, fraction in [
        ("default", "default", None, 0.5), ("quarter", "default", None, 0.25),
        ("cosine", "default", "cosine", 0.75), ("singleton", "singleton", None, 0.5),
        ("reference", "reference", None, 0.3), ("reference-cosine", "reference", "cosine", 0.6),
    ]:
        make, text = DIST[distance]
        params = with_distance([] if fraction == 0.5 else [f"filter-percentage={fraction}"], distance)
        add("hdc", Case(
            "hdc", suffix, params,
            lambda make=make, fraction=fraction: miners.HDCMiner(filter_percentage=fraction, distance=make()),
            f"HDCMiner(filter_percentage={fraction}, distance={text})", kind, hdc=(fraction, distance == "cosine")))

    return all_cases


def compact(value, depth=0):
    """JSON with every list of numbers on one line and one such list per line (readable, small)."""
    pad, inner = " " * depth, " " * (depth + 2)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {compact(v, depth + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list):
        if all(not isinstance(v, (list, dict)) for v in value):
            return json.dumps(value, allow_nan=False)
        return "[\n" + ",\n".join(inner + compact(v, depth + 2) for v in value) + "\n" + pad + "]"
    return json.dumps(value, allow_nan=False)


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for miner, miner_cases in cases().items():
        generated = [case.generate() for case in miner_cases]
        path = OUT_DIR / f"{miner}.json"
        path.write_text(compact({"miner": miner, "generator": GENERATOR, "cases": generated}) + "\n")
        sizes = ", ".join(f"{c['id'].split('/')[1]}={c['size']}" for c in generated)
        print(f"{path.name}: {len(generated)} cases ({sizes})")


if __name__ == "__main__":
    main()
