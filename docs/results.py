#!/usr/bin/env python3
"""Reruns the 30 trainings behind docs/results.md and prints its tables (run by hand: `make results`).

Each run is `simile train PRESET --seed S --quiet` (synthetic-ecg) or the same on pbcseq; the final
report's trained and raw-feature columns are parsed. Needs a release build (`make release`) and, for
pbcseq, ../shared/data/pbcseq_exams.csv.
"""
import json, os, statistics, subprocess, sys

SIMILE = os.environ.get("SIMILE", ".build/release/simile")
PRESETS = ["ecg-recommended", "contrastive-random", "triplet-semihard", "margin-distance-weighted", "proxy-anchor"]
DATASETS = {"synthetic-ecg": ["--data", "synthetic-ecg"],
            "pbcseq": ["--data", "../shared/data/pbcseq_exams.csv", "--label", "patient_id"]}
METRICS = ["P@1", "MAP@R", "R-precision", "NMI"]
SEEDS = [0, 1, 2]


def run(preset, seed, arguments):
    out = subprocess.run([SIMILE, "train", preset, "--quiet", "--seed", str(seed)] + arguments,
                         capture_output=True, text=True, check=True)
    metrics = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in METRICS:
            metrics[parts[0]] = (float(parts[1]), float(parts[2]))
    return metrics


def spread(values):
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


for name, arguments in DATASETS.items():
    if name == "pbcseq" and not os.path.exists(arguments[1]):
        print(f"skipping {name}: {arguments[1]} is missing", file=sys.stderr)
        continue
    results = {(p, s): run(p, s, arguments) for p in PRESETS for s in SEEDS}
    print(f"\n### {name}\n\n| pipeline | " + " | ".join(METRICS) + " |\n|---|" + "---|" * len(METRICS))
    for preset in PRESETS:
        print(f"| `{preset}` | " + " | ".join(spread([results[preset, s][m][0] for s in SEEDS]) for m in METRICS) + " |")
    print("| raw-feature kNN (standardised) | "
          + " | ".join(spread([results[PRESETS[0], s][m][1] for s in SEEDS]) for m in METRICS) + " |")
    print("\n| data | baseline | Δ P@1 (per seed) | Δ MAP@R (per seed) |\n|---|---|---|---|")
    for preset in PRESETS[1:]:
        cells = []
        for metric in ["P@1", "MAP@R"]:
            d = [results[PRESETS[0], s][metric][0] - results[preset, s][metric][0] for s in SEEDS]
            cells.append(f"{statistics.mean(d):+.3f} ({', '.join(f'{x:+.3f}' for x in d)})")
        print(f"| {name} | `{preset}` | " + " | ".join(cells) + " |")
