#!/usr/bin/env python3
"""Generate golden regularizer fixtures from pytorch-metric-learning (PML).

Run from the repository root:

    /tmp/pmlvenv/bin/python Tests/Fixtures/generate_pml_regularizers.py

It needs pytorch-metric-learning 2.9.0 and torch (CPU is enough). Everything runs in float64
with fixed seeds (from the case id) and one CPU thread, so the output is reproducible. One file
per regularizer is written to Tests/Fixtures/pml/regularizers/; see the README.md there.

This script only *calls* PML: every value is what the regularizer's forward pass returns and
every gradient what torch autograd gives for it.

Weight matrices are drawn in PML's own layout where PML has one (a classifier's W is D x C, and
SoftTriple's fc is D x C*K) and handed to the regularizer transposed, exactly as PML's losses do
(`weight_regularizer(W.t())`). The fixture stores that transposed matrix, C x D with one row per
class (per center), which is Simile's layout, and the gradient in the same layout.
"""

import json
import zlib
from pathlib import Path

import torch
import pytorch_metric_learning
from pytorch_metric_learning import distances, reducers, regularizers

DTYPE = torch.float64
OUT_DIR = Path(__file__).resolve().parent / "pml" / "regularizers"
GENERATOR = {
    "pml": pytorch_metric_learning.__version__,
    "torch": torch.__version__,
    "dtype": "float64",
}

torch.set_num_threads(1)


def seed_of(case_id):
    return zlib.crc32(case_id.encode())


def draw(case_id, rows, columns):
    g = torch.Generator().manual_seed(seed_of(case_id))
    return torch.randn(rows, columns, generator=g, dtype=DTYPE)


def matrix(t):
    return t.detach().tolist()


class Case:
    """One fixture: a PML regularizer, Simile's parameters, and an input matrix.

    layout "rows": the matrix is drawn as the regularizer sees it (embeddings, or C x D proxies).
    layout "columns": it is drawn D x C as PML stores classification weights and passed transposed.
    """

    def __init__(self, case_id, make, pml, parameters, rows, columns, layout="rows", key="embeddings",
                 edit=None):
        self.case_id = case_id
        self.make = make
        self.pml = pml
        self.parameters = parameters
        self.rows = rows
        self.columns = columns
        self.layout = layout
        self.key = key
        self.edit = edit

    def run(self):
        if self.layout == "columns":
            weights = draw(self.case_id, self.columns, self.rows)  # PML's D x C
            if self.edit:
                weights = self.edit(weights.t().clone()).t().clone()
            weights.requires_grad_(True)
            seen = weights.t()  # what PML's losses pass: C x D
        else:
            weights = draw(self.case_id, self.rows, self.columns)
            if self.edit:
                weights = self.edit(weights)
            weights.requires_grad_(True)
            seen = weights
        value = self.make()(seen)
        (grad,) = torch.autograd.grad(value, weights)
        if self.layout == "columns":
            grad = grad.t()
        assert torch.isfinite(value) and torch.isfinite(grad).all(), self.case_id
        return {
            "id": self.case_id,
            "parameters": self.parameters,
            "pml": self.pml,
            "input": {self.key: matrix(seen)},
            "expected": {"value": value.item(), "gradient": matrix(grad)},
        }


def zero_row(x):
    x = x.clone()
    x[2] = 0
    return x


def duplicate_center(x):
    """Center 1 of class 0 equals center 0 of class 0 up to scale (cosine 1 in exact arithmetic)."""
    x = x.clone()
    x[1] = 2 * x[0]
    return x


R = regularizers
CASES = {
    "lp": [
        Case("lp/default", lambda: R.LpRegularizer(), "LpRegularizer()", [], 7, 5),
        Case("lp/power-2", lambda: R.LpRegularizer(power=2), "LpRegularizer(power=2)", ["power=2"], 7, 5),
        Case("lp/p-1", lambda: R.LpRegularizer(p=1), "LpRegularizer(p=1)", ["p=1"], 7, 5),
        Case("lp/p-3-power-half-sum", lambda: R.LpRegularizer(p=3, power=0.5, reducer=reducers.SumReducer()),
             "LpRegularizer(p=3, power=0.5, reducer=SumReducer())", ["p=3", "power=0.5", "reducer=sum"], 7, 5),
        Case("lp/zero-row", lambda: R.LpRegularizer(), "LpRegularizer()", [], 6, 4, edit=zero_row),
        Case("lp/zero-row-avg-non-zero", lambda: R.LpRegularizer(reducer=reducers.AvgNonZeroReducer()),
             "LpRegularizer(reducer=AvgNonZeroReducer())", ["reducer=avg-non-zero"], 6, 4, edit=zero_row),
        Case("lp/weights", lambda: R.LpRegularizer(power=2), "LpRegularizer(power=2) on W.t()", ["power=2"],
             5, 6, layout="columns", key="matrix"),
    ],
    "zero-mean": [
        Case("zero-mean/default", lambda: R.ZeroMeanRegularizer(), "ZeroMeanRegularizer()", [], 8, 6),
        Case("zero-mean/sum", lambda: R.ZeroMeanRegularizer(reducer=reducers.SumReducer()),
             "ZeroMeanRegularizer(reducer=SumReducer())", ["reducer=sum"], 8, 6),
        Case("zero-mean/threshold", lambda: R.ZeroMeanRegularizer(reducer=reducers.ThresholdReducer(low=1.0)),
             "ZeroMeanRegularizer(reducer=ThresholdReducer(low=1.0))", ["reducer=threshold(low=1)"], 8, 6),
    ],
    "center-invariant": [
        Case("center-invariant/default", lambda: R.CenterInvariantRegularizer(), "CenterInvariantRegularizer() on W.t()",
             [], 6, 5, layout="columns", key="matrix"),
        Case("center-invariant/sum", lambda: R.CenterInvariantRegularizer(reducer=reducers.SumReducer()),
             "CenterInvariantRegularizer(reducer=SumReducer()) on W.t()", ["reducer=sum"], 6, 5,
             layout="columns", key="matrix"),
        # PML hands regularizers row indices as labels, so class weights index the rows (= classes).
        Case("center-invariant/class-weighted",
             lambda: R.CenterInvariantRegularizer(reducer=reducers.ClassWeightedReducer(
                 weights=torch.tensor([1.0, 2.0, 0.5, 1.5, 3.0, 0.25], dtype=DTYPE))),
             "CenterInvariantRegularizer(reducer=ClassWeightedReducer(weights=[1, 2, 0.5, 1.5, 3, 0.25])) on W.t()",
             ["reducer=class-weighted(weights=[1, 2, 0.5, 1.5, 3, 0.25])"], 6, 5, layout="columns", key="matrix"),
        Case("center-invariant/proxies", lambda: R.CenterInvariantRegularizer(), "CenterInvariantRegularizer() on proxies",
             [], 4, 3, key="matrix"),
    ],
    "regular-face": [
        Case("regular-face/default", lambda: R.RegularFaceRegularizer(), "RegularFaceRegularizer() on W.t()",
             [], 6, 5, layout="columns", key="matrix"),
        Case("regular-face/sum", lambda: R.RegularFaceRegularizer(reducer=reducers.SumReducer()),
             "RegularFaceRegularizer(reducer=SumReducer()) on W.t()", ["reducer=sum"], 7, 4,
             layout="columns", key="matrix"),
        Case("regular-face/dot",
             lambda: R.RegularFaceRegularizer(distance=distances.DotProductSimilarity(normalize_embeddings=False)),
             "RegularFaceRegularizer(distance=DotProductSimilarity(normalize_embeddings=False)) on W.t()",
             ["distance=dot(normalize=false)"], 5, 6, layout="columns", key="matrix"),
        Case("regular-face/two-classes", lambda: R.RegularFaceRegularizer(), "RegularFaceRegularizer() on W.t()",
             [], 2, 3, layout="columns", key="matrix"),
    ],
    "sparse-centers": [
        Case("sparse-centers/3x2", lambda: R.SparseCentersRegularizer(num_classes=3, centers_per_class=2),
             "SparseCentersRegularizer(num_classes=3, centers_per_class=2) on fc.t()",
             ["num-classes=3", "centers-per-class=2"], 6, 5, layout="columns", key="matrix"),
        Case("sparse-centers/4x3", lambda: R.SparseCentersRegularizer(num_classes=4, centers_per_class=3),
             "SparseCentersRegularizer(num_classes=4, centers_per_class=3) on fc.t()",
             ["num-classes=4", "centers-per-class=3"], 12, 6, layout="columns", key="matrix"),
        Case("sparse-centers/2x3-mean",
             lambda: R.SparseCentersRegularizer(num_classes=2, centers_per_class=3, reducer=reducers.MeanReducer()),
             "SparseCentersRegularizer(num_classes=2, centers_per_class=3, reducer=MeanReducer()) on fc.t()",
             ["num-classes=2", "centers-per-class=3", "reducer=mean"], 6, 4, layout="columns", key="matrix"),
        Case("sparse-centers/scaled-copy", lambda: R.SparseCentersRegularizer(num_classes=2, centers_per_class=2),
             "SparseCentersRegularizer(num_classes=2, centers_per_class=2) on fc.t(), center 1 = 2 x center 0",
             ["num-classes=2", "centers-per-class=2"], 4, 5, layout="columns", key="matrix", edit=duplicate_center),
    ],
}


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, cases in CASES.items():
        document = {"regularizer": name, "generator": GENERATOR, "cases": [case.run() for case in cases]}
        path = OUT_DIR / f"{name}.json"
        path.write_text(json.dumps(document, indent=1) + "\n")
        print(f"wrote {path} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
