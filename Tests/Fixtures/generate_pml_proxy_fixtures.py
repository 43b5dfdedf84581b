#!/usr/bin/env python3
"""Generate golden fixtures for the proxy and classification losses from pytorch-metric-learning.

Run from the repository root:

    /tmp/pmlvenv/bin/python Tests/Fixtures/generate_pml_proxy_fixtures.py

It needs pytorch-metric-learning 2.9.0 and torch (CPU). It reuses the inputs, miners and JSON
writer of generate_pml_fixtures.py, so the files have the same schema (Tests/Fixtures/pml/README.md),
plus the loss's parameter matrix:

- `input.parameters.<name>` holds the matrix PML started from, in Simile's layout: one row per
  class (or per center), i.e. `proxies` as PML stores them, and the transpose of PML's `W` / `fc`.
- `expected.parameter_gradients.<name>` holds torch autograd's gradient of the loss with respect
  to that parameter, in the same layout.

PML's own initialisation draws the parameters (torch.manual_seed is set from the case id first);
every tensor is float64. This script only *calls* PML: every number in the fixtures comes from
PML's forward pass and torch autograd. Label smoothing, which PML's losses do not expose, is
obtained by replacing the loss's `cross_entropy` module with torch's
`CrossEntropyLoss(reduction="none", label_smoothing=eps)`, which ArcFace, CosFace, SphereFace,
LargeMarginSoftmax and NormalizedSoftmax call.

It also writes, under Tests/Fixtures/pml/proxy/:
- `proxy-anchor-input.json` / `proxy-anchor-expected.json`: a standalone example for
  `simile compute loss proxy-anchor num-classes=4 embedding-size=8 --input proxy-anchor-input.json`;
- `sub-center-outliers.json`: PML's `SubCenterArcFaceLoss.get_outliers` on structured inputs.
"""

import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate_pml_fixtures as base  # noqa: E402  (the shared inputs, miners and writer)
from generate_pml_fixtures import Spec, make_input, matrix, mine, seed_of, sub_losses, tuples_json  # noqa: E402

DTYPE = base.DTYPE
PROXY_DIR = base.OUT_DIR / "proxy"

# Where each PML loss keeps its parameter, the Simile name, and whether PML's tensor is the
# transpose of Simile's (one row per class or center).
PARAMETERS = {
    "ProxyNCALoss": ("proxies", "proxies", False),
    "ProxyAnchorLoss": ("proxies", "proxies", False),
    "SoftTripleLoss": ("fc", "centers", True),
    "ArcFaceLoss": ("W", "weights", True),
    "CosFaceLoss": ("W", "weights", True),
    "SphereFaceLoss": ("W", "weights", True),
    "LargeMarginSoftmaxLoss": ("W", "weights", True),
    "NormalizedSoftmaxLoss": ("W", "weights", True),
    "SubCenterArcFaceLoss": ("W", "weights", True),
}


def simile_layout(tensor, transposed):
    t = tensor.detach()
    return matrix(t.t() if transposed else t)


def build(case_id, spec, smoothing=None):
    torch.manual_seed(seed_of(case_id + "/init"))
    loss_fn = spec.build().to(DTYPE)
    if smoothing is not None:
        assert hasattr(loss_fn, "cross_entropy"), spec.cls
        loss_fn.cross_entropy = torch.nn.CrossEntropyLoss(reduction="none", label_smoothing=smoothing)
    return loss_fn


def run(case_id, spec, inp, tuples=None, smoothing=None):
    """Forward + backward through PML; returns (parameters, expected)."""
    loss_fn = build(case_id, spec, smoothing)
    attribute, name, transposed = PARAMETERS[spec.cls]
    parameter = getattr(loss_fn, attribute)
    initial = simile_layout(parameter, transposed)
    x = inp["embeddings"].clone().requires_grad_(True)
    y = torch.tensor(inp["labels"])
    t = None if tuples is None else tuple(torch.tensor(v, dtype=torch.long) for v in tuples)
    value = loss_fn(x, y, t)
    gx, gp = torch.autograd.grad(value, [x, parameter], allow_unused=True)
    gx = torch.zeros_like(x) if gx is None else gx
    gp = torch.zeros_like(parameter) if gp is None else gp
    base.check_finite(case_id, "loss", value)
    base.check_finite(case_id, "gradient", gx)
    base.check_finite(case_id, "parameter gradient", gp)
    assert getattr(loss_fn, attribute) is parameter, "PML replaced the parameter"
    expected = {"loss": value.item(), "gradient": matrix(gx),
                "parameter_gradients": {name: simile_layout(gp, transposed)}}
    subs = sub_losses(loss_fn, x, y, t, None, None)
    if subs is not None:
        assert math.isclose(sum(subs.values()), value.item(), rel_tol=1e-12, abs_tol=1e-15), case_id
        expected["sub_losses"] = subs
    return {name: initial}, expected


class Cases:
    """The cases of one loss; `common` are the Simile parameters every case shares besides the sizes."""

    def __init__(self, loss, cls):
        self.loss = loss
        self.cls = cls
        self.cases = []

    def add(self, name, parameters, kwargs, kind="batch", classes=4, miner=None, smoothing=None):
        case_id = f"{self.loss}/{name}"
        inp = make_input(kind, case_id)
        d = inp["embeddings"].shape[1]
        spec = Spec(self.cls, num_classes=classes, embedding_size=d, **kwargs)
        tuples = mine(miner, inp) if miner else None
        initial, expected = run(case_id, spec, inp, tuples, smoothing)
        case_input = {"embeddings": matrix(inp["embeddings"]), "labels": list(inp["labels"])}
        if tuples is not None:
            case_input["tuples"] = tuples_json(tuples)
        case_input["parameters"] = initial
        pml = str(spec) + (f" with cross_entropy label_smoothing={smoothing}" if smoothing is not None else "")
        self.cases.append({
            "id": case_id,
            "parameters": [f"num-classes={classes}", f"embedding-size={d}"] + list(parameters),
            "pml": pml,
            "input": case_input,
            "expected": expected,
        })
        return self

    def add_standard(self, parameters=(), kwargs=None):
        """Default parameters on every input shape: mined pairs and triplets, an absent class, a
        singleton class, one label, duplicated rows."""
        kwargs = kwargs or {}
        p = list(parameters)
        self.add("mined-pairs", p, kwargs, miner="ms-pairs")
        self.add("mined-triplets", p, kwargs, miner="semihard-triplets")
        self.add("absent-classes", p, kwargs, classes=6)
        self.add("singleton", p, kwargs, kind="singleton", classes=3)
        self.add("one-label", p, kwargs, kind="one-label", classes=4)
        self.add("duplicates", p, kwargs, kind="duplicates", classes=4)
        return self


COSINE = Spec("CosineSimilarity")
LP = Spec("LpDistance")
DOT_RAW = Spec("DotProductSimilarity", normalize_embeddings=False)
MEAN = Spec("MeanReducer")
SUM = Spec("SumReducer")


def proxy_nca():
    return (Cases("proxy-nca", "ProxyNCALoss")
            .add("default", [], {})
            .add("scale", ["softmax-scale=9"], {"softmax_scale": 9})
            .add("cosine", ["softmax-scale=4", "distance=cosine"], {"softmax_scale": 4, "distance": COSINE})
            .add("sum", ["reducer=sum"], {"reducer": SUM})
            .add_standard())


def proxy_anchor():
    return (Cases("proxy-anchor", "ProxyAnchorLoss")
            .add("default", [], {})
            .add("params", ["margin=0.2", "alpha=16"], {"margin": 0.2, "alpha": 16})
            .add("mean", ["reducer=mean"], {"reducer": MEAN})
            .add("lp", ["distance=lp", "margin=0.3", "alpha=8"], {"distance": LP, "margin": 0.3, "alpha": 8})
            .add("alpha-128", ["alpha=128"], {"alpha": 128})
            .add_standard())


def soft_triple():
    return (Cases("soft-triple", "SoftTripleLoss")
            .add("default", [], {})
            .add("params", ["centers-per-class=3", "la=10", "gamma=0.5", "margin=0.1"],
                 {"centers_per_class": 3, "la": 10, "gamma": 0.5, "margin": 0.1})
            .add("one-center", ["centers-per-class=1"], {"centers_per_class": 1})
            .add("sum", ["centers-per-class=4", "reducer=sum"], {"centers_per_class": 4, "reducer": SUM})
            .add_standard())


def arcface():
    return (Cases("arcface", "ArcFaceLoss")
            .add("default", [], {})
            .add("params", ["margin=10", "scale=16"], {"margin": 10, "scale": 16})
            .add("large-margin", ["margin=80", "scale=8"], {"margin": 80, "scale": 8})
            .add("label-smoothing", ["label-smoothing=0.05"], {}, smoothing=0.05)
            .add("sum", ["scale=30", "reducer=sum"], {"scale": 30, "reducer": SUM})
            .add_standard())


def cosface():
    return (Cases("cosface", "CosFaceLoss")
            .add("default", [], {})
            .add("params", ["margin=0.2", "scale=16"], {"margin": 0.2, "scale": 16})
            .add("label-smoothing", ["label-smoothing=0.1"], {}, smoothing=0.1)
            .add_standard())


def sphereface():
    cases = (Cases("sphereface", "SphereFaceLoss")
             .add("default", [], {})
             .add("params", ["margin=3", "scale=2"], {"margin": 3, "scale": 2})
             .add("margin-1", ["margin=1"], {"margin": 1})
             .add("label-smoothing", ["label-smoothing=0.05"], {}, smoothing=0.05)
             .add_standard())
    # PML's LargeMarginSoftmaxLoss is sphereface with weight-norm=true.
    large = Cases("sphereface", "LargeMarginSoftmaxLoss")
    large.add("large-margin-softmax", ["weight-norm=true"], {})
    large.add("large-margin-softmax-params", ["weight-norm=true", "margin=2", "scale=0.5"], {"margin": 2, "scale": 0.5})
    large.add("large-margin-softmax-mined", ["weight-norm=true"], {}, miner="semihard-triplets")
    cases.cases += large.cases
    return cases


def normalized_softmax():
    return (Cases("normalized-softmax", "NormalizedSoftmaxLoss")
            .add("default", [], {})
            .add("temperature", ["temperature=0.2"], {"temperature": 0.2})
            .add("dot-raw", ["temperature=0.5", "distance=dot(normalize=false)"],
                 {"temperature": 0.5, "distance": DOT_RAW})
            .add("label-smoothing", ["label-smoothing=0.1"], {}, smoothing=0.1)
            .add_standard())


def sub_center_arcface():
    return (Cases("sub-center-arcface", "SubCenterArcFaceLoss")
            .add("default", [], {})
            .add("params", ["sub-centers=2", "margin=10", "scale=16"], {"sub_centers": 2, "margin": 10, "scale": 16})
            .add("one-sub-center", ["sub-centers=1"], {"sub_centers": 1})
            .add("label-smoothing", ["label-smoothing=0.05"], {}, smoothing=0.05)
            .add_standard())


LOSSES = [proxy_nca, proxy_anchor, soft_triple, arcface, cosface, sphereface, normalized_softmax,
          sub_center_arcface]


def cli_example():
    """proxy-anchor with its defaults on the standard batch, for the command-line test."""
    case_id = "proxy-anchor/cli-example"
    inp = make_input("batch", case_id)
    spec = Spec("ProxyAnchorLoss", num_classes=4, embedding_size=8)
    initial, expected = run(case_id, spec, inp)
    cli_input = {"embeddings": matrix(inp["embeddings"]), "labels": inp["labels"], "parameters": initial}
    cli_expected = {"loss": expected["loss"], "gradient": expected["gradient"],
                    "parameter_gradients": expected["parameter_gradients"]}
    return cli_input, cli_expected


def outlier_cases():
    """get_outliers on samples scattered around chosen sub-centers, so that both inliers and
    outliers occur. Classes 0..3 with 3 sub-centers; class 4 has no sample."""
    out = []
    for name, threshold, noise in [("default-threshold", None, 1.0), ("threshold-40", 40, 0.6),
                                   ("threshold-90", 90, 1.5)]:
        case_id = f"sub-center-outliers/{name}"
        torch.manual_seed(seed_of(case_id + "/init"))
        loss_fn = losses_module().SubCenterArcFaceLoss(num_classes=5, embedding_size=8, sub_centers=3).to(DTYPE)
        g = torch.Generator().manual_seed(seed_of(case_id))
        labels = [0, 1, 2, 3, 1, 0, 3, 2, 2, 3, 0, 1, 3, 2, 1, 0, 0, 1]
        # Most samples near sub-center 1 of their class, some near 0 or 2.
        chosen = torch.randint(0, 10, (len(labels),), generator=g).tolist()
        centers = [1 if k < 6 else (0 if k < 8 else 2) for k in chosen]
        W = loss_fn.W.detach()
        rows = []
        for label, k in zip(labels, centers):
            direction = W[:, label * 3 + k] / W[:, label * 3 + k].norm()
            rows.append(direction + noise * torch.randn(8, generator=g, dtype=DTYPE) / math.sqrt(8))
        x = torch.stack(rows)
        kwargs = {} if threshold is None else {"threshold": threshold}
        outliers, dominant = loss_fn.get_outliers(x, torch.tensor(labels), **kwargs)
        # PML returns the dominant sub-centers as vectors (columns); name them by index.
        dominant_index = []
        for c in range(5):
            if c not in labels:
                dominant_index.append(None)
                continue
            block = W[:, c * 3:(c + 1) * 3]
            matches = [k for k in range(3) if torch.equal(block[:, k], dominant[:, c])]
            assert len(matches) == 1, (case_id, c, matches)
            dominant_index.append(matches[0])
        out.append({
            "id": case_id,
            "threshold": 75 if threshold is None else threshold,
            "pml": f"SubCenterArcFaceLoss(num_classes=5, embedding_size=8, sub_centers=3).get_outliers(x, labels{', threshold=' + str(threshold) if threshold is not None else ''})",
            "input": {"embeddings": matrix(x), "labels": labels, "parameters": {"weights": simile_layout(W, True)}},
            "expected": {"outliers": [int(i) for i in outliers.tolist()], "dominant_sub_centers": dominant_index},
        })
    return out


def losses_module():
    from pytorch_metric_learning import losses
    return losses


def main():
    base.OUT_DIR.mkdir(parents=True, exist_ok=True)
    PROXY_DIR.mkdir(parents=True, exist_ok=True)
    for loss_function in LOSSES:
        cases = loss_function()
        ids = [c["id"] for c in cases.cases]
        assert len(ids) == len(set(ids)), ids
        base.write(f"{cases.loss}.json", {"loss": cases.loss, "generator": base.GENERATOR, "cases": cases.cases})
        print(f"{cases.loss}: {len(cases.cases)} cases")
    cli_input, cli_expected = cli_example()
    base.write("proxy/proxy-anchor-input.json", cli_input)
    base.write("proxy/proxy-anchor-expected.json", cli_expected)
    print("proxy-anchor CLI example written")
    outliers = outlier_cases()
    base.write("proxy/sub-center-outliers.json", {"generator": base.GENERATOR, "cases": outliers})
    print(f"sub-center outliers: {len(outliers)} cases")


if __name__ == "__main__":
    main()
