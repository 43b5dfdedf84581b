#!/usr/bin/env python3
"""Generate reference values for Simile's optimizers, learning-rate schedules and MLP from PyTorch.

Run from the repository root:

    /tmp/pmlvenv/bin/python Tests/Fixtures/generate_torch_fixtures.py

It needs torch (CPU is enough). Inputs come from fixed seeds and torch runs on one thread, so
running it again writes the same bytes. Output: Tests/Fixtures/torch/optimizers.json and
Tests/Fixtures/torch/mlp.json (schema in Tests/Fixtures/torch/README.md).

The script only *calls* torch.optim, torch.optim.lr_scheduler, torch.nn.utils.clip_grad_norm_
and torch.nn modules; every expected number is what they compute.
"""

import json
import math
import zlib
from pathlib import Path

import torch

OUT_DIR = Path(__file__).resolve().parent / "torch"
torch.set_num_threads(1)

SHAPES = {"w": (3, 4), "b": (1, 3), "p": (2, 4)}


def seeded(case_id):
    g = torch.Generator().manual_seed(zlib.crc32(case_id.encode()))
    return g


def nested(t):
    return [[float(x) for x in row] for row in t.detach().to(torch.float64).tolist()]


# ---------------------------------------------------------------------------
# Optimizers
# ---------------------------------------------------------------------------


def make_optimizer(kind, kwargs, groups):
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
           "rmsprop": torch.optim.RMSprop}[kind]
    return cls(groups, **kwargs)


def make_scheduler(optimizer, schedule):
    """schedule: (name, kwargs, warmup, warmup_start_factor) in torch terms."""
    if schedule is None:
        return None
    name, kwargs, warmup, start = schedule
    sched = S = torch.optim.lr_scheduler
    main = {"linear": S.LinearLR, "cosine": S.CosineAnnealingLR, "step": S.StepLR,
            "constant": lambda opt: S.LambdaLR(opt, lambda t: 1.0)}[name](optimizer, **kwargs)
    if warmup:
        warm = S.LinearLR(optimizer, start_factor=start, end_factor=1.0, total_iters=warmup)
        return sched.SequentialLR(optimizer, [warm, main], milestones=[warmup])
    return main


def optimizer_case(case_id, text, kind, kwargs, groups, base_lr, steps=5, clip=None, schedule=None, schedule_text=None,
                   missing=(), dtype="float64"):
    """groups: list of (name, [param names], multiplier, weight_decay or None)."""
    torch_dtype = torch.float64 if dtype == "float64" else torch.float32
    g = seeded(case_id)
    initial = {n: torch.randn(*SHAPES[n], generator=g, dtype=torch.float64) for n in SHAPES}
    grads = [{n: torch.randn(*SHAPES[n], generator=g, dtype=torch.float64) * (1.5 if s % 2 else 0.7) for n in SHAPES}
             for s in range(steps)]
    params = {n: initial[n].clone().to(torch_dtype).requires_grad_(True) for n in SHAPES}
    torch_groups = []
    for name, names, mult, wd in groups:
        group = {"params": [params[n] for n in names], "lr": base_lr * mult}
        if wd is not None:
            group["weight_decay"] = wd
        torch_groups.append(group)
    opt = make_optimizer(kind, kwargs, torch_groups)
    sched = make_scheduler(opt, schedule)
    records = []
    for s in range(steps):
        given = {n: v for n, v in grads[s].items() if (s, n) not in missing}
        for n, p in params.items():
            p.grad = given[n].clone().to(torch_dtype) if n in given else None
        lr = opt.param_groups[0]["lr"] / groups[0][2]
        norm = None
        if clip is not None:
            max_norm, clip_groups = clip
            covered = [params[n] for name, names, _, _ in groups if (not clip_groups or name in clip_groups)
                       for n in names if n in given]
            norm = float(torch.nn.utils.clip_grad_norm_(covered, max_norm))
        opt.step()
        if sched is not None:
            sched.step()
        records.append({
            "gradients": {n: nested(v) for n, v in given.items()},
            "learning_rate": lr,
            "gradient_norm": norm,
            "parameters": {n: nested(p) for n, p in params.items()},
        })
    return {
        "id": case_id,
        "optimizer": text,
        "dtype": dtype,
        "groups": [{"name": name, "parameters": names, "learning_rate_multiplier": mult, "weight_decay": wd}
                   for name, names, mult, wd in groups],
        "clipping": None if clip is None else {"max_norm": clip[0], "groups": clip[1]},
        "schedule": schedule_text,
        "initial": {n: nested(v) for n, v in initial.items()},
        "steps": records,
    }


ALL = [("all", ["w", "b", "p"], 1.0, None)]
SPLIT = [("model", ["w", "b"], 1.0, None), ("proxies", ["p"], 100.0, 0.0)]


def optimizer_cases():
    c = optimizer_case
    return [
        c("sgd-plain", "sgd(lr=0.1)", "sgd", {"lr": 0.1}, ALL, 0.1),
        c("sgd-momentum-dampening-decay", "sgd(lr=0.05, momentum=0.9, dampening=0.2, weight-decay=0.01)", "sgd",
          {"lr": 0.05, "momentum": 0.9, "dampening": 0.2, "weight_decay": 0.01}, ALL, 0.05),
        c("sgd-nesterov-decay", "sgd(lr=0.05, momentum=0.8, nesterov=true, weight-decay=0.02)", "sgd",
          {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.02}, ALL, 0.05),
        c("adam-default", "adam", "adam", {}, ALL, 1e-3, steps=6),
        c("adam-decay-amsgrad", "adam(lr=0.01, betas=[0.8, 0.99], eps=1e-6, weight-decay=0.1, amsgrad=true)", "adam",
          {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1, "amsgrad": True}, ALL, 0.01, steps=6),
        c("adam-missing-gradient", "adam(lr=0.01)", "adam", {"lr": 0.01}, ALL, 0.01, steps=5,
          missing={(1, "b"), (2, "b"), (3, "p")}),
        c("adamw-default", "adamw", "adamw", {}, ALL, 1e-3, steps=6),
        c("adamw-groups", "adamw(lr=0.002, weight-decay=0.05)", "adamw", {"lr": 0.002, "weight_decay": 0.05}, SPLIT,
          0.002, steps=5),
        c("rmsprop-default", "rmsprop", "rmsprop", {}, ALL, 1e-2),
        c("rmsprop-centered-momentum-decay", "rmsprop(lr=0.005, alpha=0.9, eps=1e-6, weight-decay=0.01, momentum=0.5, centered=true)",
          "rmsprop", {"lr": 0.005, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.01, "momentum": 0.5, "centered": True},
          ALL, 0.005),
        c("sgd-clip-all", "sgd(lr=0.1, momentum=0.9)", "sgd", {"lr": 0.1, "momentum": 0.9}, ALL, 0.1, clip=(1.0, [])),
        c("adam-clip-model-group", "adam(lr=0.01)", "adam", {"lr": 0.01}, SPLIT, 0.01, clip=(0.5, ["model"])),
        c("adamw-warmup-cosine", "adamw(lr=0.01)", "adamw", {"lr": 0.01}, ALL, 0.01, steps=8,
          schedule=("cosine", {"T_max": 5, "eta_min": 1e-4}, 3, 0.1),
          schedule_text="cosine(steps=5, min-lr=0.0001, warmup=3, warmup-start-factor=0.1)"),
        c("sgd-step-schedule-groups", "sgd(lr=0.1, momentum=0.5, weight-decay=0.001)", "sgd",
          {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.001}, SPLIT, 0.1, steps=6,
          schedule=("step", {"step_size": 2, "gamma": 0.5}, 0, None), schedule_text="step(step-size=2, gamma=0.5)"),
        c("adam-float32", "adam(lr=0.01, weight-decay=0.01)", "adam", {"lr": 0.01, "weight_decay": 0.01}, ALL, 0.01,
          steps=6, dtype="float32"),
        c("sgd-nesterov-float32", "sgd(lr=0.05, momentum=0.9, nesterov=true)", "sgd",
          {"lr": 0.05, "momentum": 0.9, "nesterov": True}, ALL, 0.05, dtype="float32"),
    ]


def schedule_values(text, base, schedule, count):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base)
    sched = make_scheduler(opt, schedule)
    values = []
    for _ in range(count):
        values.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return {"schedule": text, "base": base, "values": values}


def schedule_cases():
    s = schedule_values
    return [
        s("linear", 0.1, ("linear", {}, 0, None), 8),
        s("linear(start-factor=0.05, end-factor=0.5, steps=4)", 0.2,
          ("linear", {"start_factor": 0.05, "end_factor": 0.5, "total_iters": 4}, 0, None), 8),
        s("cosine(steps=10, min-lr=0.001)", 0.1, ("cosine", {"T_max": 10, "eta_min": 0.001}, 0, None), 11),
        s("cosine(steps=7, min-lr=0.001, warmup=3, warmup-start-factor=0.01)", 0.05,
          ("cosine", {"T_max": 7, "eta_min": 0.001}, 3, 0.01), 11),
        s("step(step-size=3, gamma=0.5)", 0.1, ("step", {"step_size": 3, "gamma": 0.5}, 0, None), 10),
        s("step(step-size=2, warmup=4)", 0.1, ("step", {"step_size": 2, "gamma": 0.1}, 4, 1.0 / 3), 10),
        s("constant(warmup=5, warmup-start-factor=0.2)", 0.3, ("constant", {}, 5, 0.2), 8),
    ]


# ---------------------------------------------------------------------------
# MLP
# ---------------------------------------------------------------------------


def mlp_case(case_id, spec, input_size, hidden, output, activation, layer_norm, normalize, rows=5):
    g = seeded(case_id)
    layers = []
    widths = [input_size] + hidden + [output]
    params = {}
    for i in range(len(widths) - 1):
        lin = torch.nn.Linear(widths[i], widths[i + 1], dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.randn(widths[i + 1], widths[i], generator=g, dtype=torch.float64) * 0.7)
            lin.bias.copy_(torch.randn(widths[i + 1], generator=g, dtype=torch.float64) * 0.3)
        params[f"layer{i}.weight"] = lin.weight
        params[f"layer{i}.bias"] = lin.bias
        layers.append(lin)
        if i < len(hidden):
            if layer_norm:
                ln = torch.nn.LayerNorm(widths[i + 1], dtype=torch.float64)
                with torch.no_grad():
                    ln.weight.copy_(1 + 0.2 * torch.randn(widths[i + 1], generator=g, dtype=torch.float64))
                    ln.bias.copy_(0.1 * torch.randn(widths[i + 1], generator=g, dtype=torch.float64))
                params[f"norm{i}.gamma"] = ln.weight
                params[f"norm{i}.beta"] = ln.bias
                layers.append(ln)
            layers.append({"relu": torch.nn.ReLU(), "gelu": torch.nn.GELU(),
                           "gelu-tanh": torch.nn.GELU(approximate="tanh")}[activation])
    net = torch.nn.Sequential(*layers)
    x = torch.randn(rows, input_size, generator=g, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(rows, output, generator=g, dtype=torch.float64)
    y = net(x)
    if normalize:
        y = torch.nn.functional.normalize(y, p=2, dim=1)
    loss = (y * weights).sum()
    names = list(params)
    grads = torch.autograd.grad(loss, [x] + [params[n] for n in names])

    def matrix(t):
        return nested(t.reshape(1, -1) if t.dim() == 1 else t)

    return {
        "id": case_id,
        "spec": spec,
        "parameters": {n: matrix(params[n]) for n in names},
        "input": nested(x),
        "output": nested(y),
        "loss_weights": nested(weights),
        "parameter_gradients": {n: matrix(gr) for n, gr in zip(names, grads[1:])},
        "input_gradient": nested(grads[0]),
    }


def mlp_cases():
    m = mlp_case
    return [
        m("relu-normalized", "mlp(input=4, hidden=[6, 5], output=3, activation=relu)", 4, [6, 5], 3, "relu", False, True),
        m("gelu-layer-norm", "mlp(input=4, hidden=[6], output=3, activation=gelu, layer-norm=true, normalize=false)",
          4, [6], 3, "gelu", True, False),
        m("gelu-tanh-layer-norm-normalized", "mlp(input=3, hidden=[5, 4], output=2, activation=gelu-tanh, layer-norm=true)",
          3, [5, 4], 2, "gelu-tanh", True, True),
        m("linear-only", "mlp(input=4, output=3, normalize=false)", 4, [], 3, "relu", False, False),
    ]


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    generator = {"torch": torch.__version__}
    optim = {"generator": generator, "cases": optimizer_cases(), "schedules": schedule_cases()}
    (OUT_DIR / "optimizers.json").write_text(json.dumps(optim, indent=1) + "\n")
    mlp = {"generator": generator, "dtype": "float64", "cases": mlp_cases()}
    (OUT_DIR / "mlp.json").write_text(json.dumps(mlp, indent=1) + "\n")
    print(f"wrote {len(optim['cases'])} optimizer cases, {len(optim['schedules'])} schedules, "
          f"{len(mlp['cases'])} MLP cases to {OUT_DIR}")


if __name__ == "__main__":
    main()
