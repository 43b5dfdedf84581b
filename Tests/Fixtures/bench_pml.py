"""Times pytorch-metric-learning's losses the way `simile bench loss` times Simile's.

Forward + backward of each loss at the given N and D, float32 on the CPU, labels i // 4,
embeddings from N(0, 1), median of repeated runs after a warm-up, torch limited to 2 threads.
Run by hand (it is a benchmark, not a test), e.g.

    python Tests/Fixtures/bench_pml.py --n 1024 --d 128

Prints one JSON line per loss: {"loss": <Simile name>, "pml": <class>, "median_ms": ...}.
"""
import argparse
import json
import statistics
import time

import torch
from pytorch_metric_learning import distances, losses, miners

LOSSES = {
    "contrastive": lambda: losses.ContrastiveLoss(),
    "triplet-margin": lambda: losses.TripletMarginLoss(),
    "lifted-structure": lambda: losses.LiftedStructureLoss(),
    "generalized-lifted-structure": lambda: losses.GeneralizedLiftedStructureLoss(),
    "n-pairs": lambda: losses.NPairsLoss(),
    "histogram": lambda: losses.HistogramLoss(),
    "multi-similarity": lambda: losses.MultiSimilarityLoss(),
    "circle": lambda: losses.CircleLoss(),
    "margin": lambda: losses.MarginLoss(),
    "nt-xent": lambda: losses.NTXentLoss(),
    "supcon": lambda: losses.SupConLoss(),
    "tuplet-margin": lambda: losses.TupletMarginLoss(),
    "fast-ap": lambda: losses.FastAPLoss(),
    "snr-contrastive": lambda: losses.SignalToNoiseRatioContrastiveLoss(),
    "intra-pair-variance": lambda: losses.IntraPairVarianceLoss(),
    "angular": lambda: losses.AngularLoss(),
    "instance": lambda: losses.InstanceLoss(),
    "ranked-list": lambda: losses.RankedListLoss(margin=0.4, Tn=1),
}

# Losses with one parameter row per class, built for N/4 classes (labels i // 4) and width D.
PER_CLASS_LOSSES = {
    "proxy-nca": lambda c, d: losses.ProxyNCALoss(num_classes=c, embedding_size=d),
    "proxy-anchor": lambda c, d: losses.ProxyAnchorLoss(num_classes=c, embedding_size=d),
    "soft-triple": lambda c, d: losses.SoftTripleLoss(num_classes=c, embedding_size=d),
    "arcface": lambda c, d: losses.ArcFaceLoss(num_classes=c, embedding_size=d),
    "cosface": lambda c, d: losses.CosFaceLoss(num_classes=c, embedding_size=d),
    "sphereface": lambda c, d: losses.SphereFaceLoss(num_classes=c, embedding_size=d),
    "normalized-softmax": lambda c, d: losses.NormalizedSoftmaxLoss(num_classes=c, embedding_size=d),
    "sub-center-arcface": lambda c, d: losses.SubCenterArcFaceLoss(num_classes=c, embedding_size=d),
}

# Each miner with the loss that usually goes with it (`simile bench miner MINER --loss LOSS`).
WITH_MINER = {
    "multi-similarity+miner": (lambda: losses.MultiSimilarityLoss(), lambda: miners.MultiSimilarityMiner()),
    "triplet-margin+semi-hard": (lambda: losses.TripletMarginLoss(),
                                 lambda: miners.TripletMarginMiner(margin=0.2, type_of_triplets="semihard")),
    "triplet-margin+batch-hard": (lambda: losses.TripletMarginLoss(), lambda: miners.BatchHardMiner()),
    "triplet-margin+triplet-margin": (lambda: losses.TripletMarginLoss(), lambda: miners.TripletMarginMiner()),
    "contrastive+batch-easy-hard": (lambda: losses.ContrastiveLoss(), lambda: miners.BatchEasyHardMiner()),
    "contrastive+pair-margin": (lambda: losses.ContrastiveLoss(), lambda: miners.PairMarginMiner()),
    "contrastive+hdc": (lambda: losses.ContrastiveLoss(), lambda: miners.HDCMiner()),
    "contrastive+uniform-histogram": (lambda: losses.ContrastiveLoss(), lambda: miners.UniformHistogramMiner()),
    "angular+angular": (lambda: losses.AngularLoss(), lambda: miners.AngularMiner()),
    "margin+distance-weighted": (lambda: losses.MarginLoss(), lambda: miners.DistanceWeightedMiner()),
}


# Miners alone (no loss, no backward), as `simile bench miner NAME` times them.
MINERS = {
    "batch-hard": lambda: miners.BatchHardMiner(),
    "batch-easy-hard": lambda: miners.BatchEasyHardMiner(),
    "triplet-margin": lambda: miners.TripletMarginMiner(),
    "semi-hard": lambda: miners.TripletMarginMiner(margin=0.2, type_of_triplets="semihard"),
    "pair-margin": lambda: miners.PairMarginMiner(),
    "multi-similarity": lambda: miners.MultiSimilarityMiner(),
    "angular": lambda: miners.AngularMiner(),
    "hdc": lambda: miners.HDCMiner(),
    "uniform-histogram": lambda: miners.UniformHistogramMiner(),
    "distance-weighted": lambda: miners.DistanceWeightedMiner(),
}


def timed(step, budget_ms=2000.0, max_runs=25):
    step()
    times = []
    while len(times) < 3 or (sum(times) < budget_ms and len(times) < max_runs):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
        if times[0] > 5000:
            break
    return statistics.median(times), len(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--d", type=int, default=128)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(7)
    labels = torch.arange(args.n) // 4
    x = torch.randn(args.n, args.d)

    def run(make_loss, make_miner=None):
        loss = make_loss()

        def step():
            e = x.clone().requires_grad_(True)
            tuples = make_miner()(e, labels) if make_miner else None
            loss(e, labels, tuples).backward()

        return step

    upstream = torch.randn(args.n, args.n)

    def distance_step():
        e = x.clone().requires_grad_(True)
        (distances.LpDistance()(e) * upstream).sum().backward()

    cases = [("distance lp", distance_step)]
    cases += [(name, run(make)) for name, make in LOSSES.items()]
    classes = (args.n + 3) // 4
    cases += [(name, run(lambda make=make: make(classes, args.d))) for name, make in PER_CLASS_LOSSES.items()]
    cases += [(name, run(*makers)) for name, makers in WITH_MINER.items()]

    def mine(make_miner):
        miner = make_miner()

        def step():
            with torch.no_grad():
                miner(x, labels)

        return step

    cases += [("miner " + name, mine(make)) for name, make in MINERS.items()]
    for name, step in cases:
        if args.only and name not in args.only.split(","):
            continue
        try:
            median, runs = timed(step)
            print(json.dumps({"loss": name, "n": args.n, "d": args.d, "median_ms": round(median, 3), "runs": runs}), flush=True)
        except RuntimeError as error:  # out of memory, unsupported
            print(json.dumps({"loss": name, "n": args.n, "d": args.d, "error": str(error).splitlines()[0][:120]}), flush=True)


if __name__ == "__main__":
    main()
