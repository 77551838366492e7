"""PyTorch as the peers and tutorial suites' peer: the Keras tutorial's MNIST MLP
(784-500-500-10, relu/relu/softmax, Glorot-uniform kernels, zero biases, categorical
cross-entropy, Adam at Keras's defaults) on the real MNIST IDX files, as Loom trains it.

usage: python3 torch_mlp.py '<json config>'   (the Node side, bench/src/torch.ts, builds it)

  {"mode": "time", "files": {...}, "hidden": [500, 500], "batchSize": 100, "trainLimit": 60000,
   "warmupSteps": 2, "steps": 598, "seed": 1, "threads": 2}
  {"mode": "train", "files": {...}, "hidden": [...], "batchSize": 100, "epochs": 20,
   "samples": 60000, "testLimit": 10000, "seeds": [1, 2, 3], "threads": 2}

Prints one line of JSON: the result, or {"error": "..."} when torch (or numpy) does not import,
so the suite can say why the column is missing and go on.
"""
import sys

try:
    import torch
    from torch_peer import adam, evaluate, load, main, train_epoch
except Exception as e:  # the suite reports this line and leaves the column out
    import json
    print(json.dumps({"error": "import torch failed: %s" % e}))
    sys.exit(0)


def build(cfg, seed):
    """Keras's Dense defaults (Glorot-uniform kernel, zero bias), not torch's Linear default
    (Kaiming-uniform), so the tutorial's curve compares the same recipe. The last layer gives
    logits: F.cross_entropy applies the softmax, as Keras's softmax + categorical cross-entropy."""
    torch.manual_seed(seed)
    sizes = [784] + list(cfg["hidden"]) + [10]
    mods = []
    for i in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1])
        torch.nn.init.xavier_uniform_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
        mods.append(lin)
        if i < len(sizes) - 2:
            mods.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*mods)
    return model, adam(model)


def train(cfg):
    """Per seed: test accuracy and loss after every epoch; seconds of training (evaluation excluded)."""
    x, y, tx, ty = load(cfg["files"], cfg["samples"], cfg["testLimit"], [784])
    b = cfg["batchSize"]
    runs = []
    for seed in cfg["seeds"]:
        model, opt = build(cfg, seed)
        gen = torch.Generator().manual_seed(seed)
        accuracy, loss, seconds = [], [], 0.0
        for _ in range(cfg["epochs"]):
            seconds += train_epoch(model, opt, x, y, b, gen)
            l, a = evaluate(model, tx, ty)
            loss.append(l)
            accuracy.append(a)
        runs.append({"seed": seed, "accuracy": accuracy, "loss": loss, "seconds": seconds})
    return {"runs": runs}


main(build, [784], train)
