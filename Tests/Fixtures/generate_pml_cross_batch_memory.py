#!/usr/bin/env python3
"""Generate golden fixtures for the cross-batch memory from pytorch-metric-learning (PML).

Run from the repository root:

    /tmp/pmlvenv/bin/python Tests/Fixtures/generate_pml_cross_batch_memory.py

It needs pytorch-metric-learning 2.9.0 and torch (CPU). Everything runs in float64 with fixed
seeds and one CPU thread. It writes Tests/Fixtures/pml/cross-batch-memory/cases.json:

    {"generator": {...}, "cases": [
      {"id": "contrastive/all-pairs", "loss": "contrastive", "miner": null | "batch-hard", "memory_size": 14,
       "embedding_size": 4,
       "steps": [{"embeddings": [[...]], "labels": [...],
                  "expected": {"loss": x, "gradient": [[...]], "memory_labels": [...], "memory_embeddings": [[...]]}}]}]}

Each case feeds the same sequence of batches to one PML CrossBatchMemory (so the queue wraps
around) and records, after every step, the loss, the gradient with respect to that step's
embeddings, and the memory in slot order (PML's `embedding_memory[:queue_idx]`, or all of it once
full). Every batch holds each class at least twice, so every anchor has a positive other than
its own fresh copy, and batch sizes stay below 25 rows, so torch.cdist computes exact distances.

Rows carry no item ids: PML excludes only each anchor's fresh copy, which is what Simile does when
it is given no ids. This script only *calls* PML.
"""

import json
from pathlib import Path

import torch
import pytorch_metric_learning
from pytorch_metric_learning import losses, miners

DTYPE = torch.float64
OUT = Path(__file__).resolve().parent / "pml" / "cross-batch-memory" / "cases.json"
torch.set_num_threads(1)

EMBEDDING_SIZE = 4
MEMORY_SIZE = 14
BATCH_LABELS = [
    [0, 1, 2, 0, 1, 2],
    [2, 2, 0, 1, 0, 1],
    [1, 0, 0, 1, 2, 2],
    [0, 2, 1, 1, 2, 0],
]


def batches(seed):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(len(labels), EMBEDDING_SIZE, generator=g, dtype=DTYPE), torch.tensor(labels))
            for labels in BATCH_LABELS]


CASES = [
    # (id, Simile loss, Simile miner or None, PML loss, PML miner or None, seed)
    ("contrastive/all-pairs", "contrastive", None, lambda: losses.ContrastiveLoss(), None, 1),
    ("contrastive/triplet-margin-miner", "contrastive", "triplet-margin(margin=0.2)",
     lambda: losses.ContrastiveLoss(), lambda: miners.TripletMarginMiner(margin=0.2), 2),
    ("triplet-margin/all-pairs", "triplet-margin(margin=0.1)", None,
     lambda: losses.TripletMarginLoss(margin=0.1), None, 3),
    ("triplet-margin/batch-hard", "triplet-margin(margin=0.1)", "batch-hard",
     lambda: losses.TripletMarginLoss(margin=0.1), lambda: miners.BatchHardMiner(), 4),
    # Self-comparisons change this one's value (a pair at similarity 1 still counts), so it shows that
    # the anchor's fresh copy is excluded exactly as PML does.
    ("multi-similarity/all-pairs", "multi-similarity", None, lambda: losses.MultiSimilarityLoss(), None, 6),
    ("multi-similarity/multi-similarity-miner", "multi-similarity", "multi-similarity(epsilon=0.1)",
     lambda: losses.MultiSimilarityLoss(), lambda: miners.MultiSimilarityMiner(epsilon=0.1), 5),
]


def memory_state(cbm):
    n = MEMORY_SIZE if cbm.has_been_filled else cbm.queue_idx
    return cbm.label_memory[:n].tolist(), cbm.embedding_memory[:n].tolist()


def run_case(case_id, simile_loss, simile_miner, make_loss, make_miner, seed):
    cbm = losses.CrossBatchMemory(make_loss(), EMBEDDING_SIZE, memory_size=MEMORY_SIZE,
                                  miner=make_miner() if make_miner else None)
    steps = []
    for x, labels in batches(seed):
        x = x.clone().requires_grad_(True)
        loss = cbm(x, labels)
        loss.backward()
        memory_labels, memory_embeddings = memory_state(cbm)
        steps.append({
            "embeddings": x.detach().tolist(),
            "labels": labels.tolist(),
            "expected": {
                "loss": loss.item(),
                "gradient": x.grad.tolist(),
                "memory_labels": memory_labels,
                "memory_embeddings": memory_embeddings,
            },
        })
    return {"id": case_id, "loss": simile_loss, "miner": simile_miner, "memory_size": MEMORY_SIZE,
            "embedding_size": EMBEDDING_SIZE, "steps": steps}


def main():
    cases = [run_case(*case) for case in CASES]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "generator": {"pml": pytorch_metric_learning.__version__, "torch": torch.__version__, "dtype": "float64",
                      "script": "Tests/Fixtures/generate_pml_cross_batch_memory.py"},
        "cases": cases,
    }
    OUT.write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
