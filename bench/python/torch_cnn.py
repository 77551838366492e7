"""PyTorch as the cnn suite's peer: Keras's MNIST convnet example (Conv2D 32 3x3 relu,
MaxPooling2D 2, Conv2D 64 3x3 relu, MaxPooling2D 2, Flatten, Dropout 0.5, Dense 10 softmax;
Glorot-uniform kernels and zero biases as Keras's defaults, categorical cross-entropy, Adam
(1e-3, 0.9, 0.999, 1e-7), batch 128) on the real MNIST IDX files, as Loom trains it.

usage: python3 torch_cnn.py '<json config>'   (the Node side, bench/src/cnn-torch.ts, builds it)

  {"mode": "time", "files": {...}, "batchSize": 128, "trainLimit": 60000,
   "warmupSteps": 3, "steps": 100, "seed": 1, "threads": 2}
  {"mode": "train", "files": {...}, "batchSize": 128, "epochs": 12,
   "samples": 60000, "testLimit": 10000, "seed": 1, "threads": 2}

Prints one line of JSON: the result, or {"error": "..."} when torch (or numpy) does not import,
so the suite can say why the column is missing and go on. The IDX reading, the step, its timing
and the command line are torch_peer.py's, shared with torch_mlp.py; only the model and the image
layout (NCHW, torch's own) differ.
"""
import sys

try:
    import torch
    from torch_peer import adam, evaluate, load, main, train_epoch
except Exception as e:  # the suite reports this line and leaves the column out
    import json
    print(json.dumps({"error": "import torch failed: %s" % e}))
    sys.exit(0)

# Torch's channels-first layout of Loom's [28, 28, 1].
IMAGE = [1, 28, 28]


def build(cfg, seed):
    """Keras's Conv2D and Dense defaults (Glorot-uniform kernel, zero bias), not torch's
    (Kaiming-uniform), so the curve compares the same recipe. xavier_uniform_ on a conv weight
    [out, in, kh, kw] takes fan_in = in*kh*kw and fan_out = out*kh*kw, as Keras does. The last
    layer gives logits: F.cross_entropy applies the softmax, as Keras's softmax +
    categorical cross-entropy."""
    torch.manual_seed(seed)
    conv1 = torch.nn.Conv2d(1, 32, 3)
    conv2 = torch.nn.Conv2d(32, 64, 3)
    dense = torch.nn.Linear(5 * 5 * 64, 10)
    for m in (conv1, conv2, dense):
        torch.nn.init.xavier_uniform_(m.weight)
        torch.nn.init.zeros_(m.bias)
    model = torch.nn.Sequential(
        conv1, torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        conv2, torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Dropout(0.5), dense,
    )
    return model, adam(model)


def train(cfg):
    """One seed: test accuracy and loss after every epoch, and each epoch's training seconds
    (evaluation excluded)."""
    x, y, tx, ty = load(cfg["files"], cfg["samples"], cfg["testLimit"], IMAGE)
    b = cfg["batchSize"]
    seed = cfg["seed"]
    model, opt = build(cfg, seed)
    model.train()
    gen = torch.Generator().manual_seed(seed)
    accuracy, loss, epoch_seconds = [], [], []
    for _ in range(cfg["epochs"]):
        epoch_seconds.append(train_epoch(model, opt, x, y, b, gen))
        l, a = evaluate(model, tx, ty)
        loss.append(l)
        accuracy.append(a)
        # One line per epoch on stderr, so a long run shows progress (stdout keeps the one JSON line).
        print("torch_cnn: epoch %d: test accuracy %.4f, %.1f s" % (len(accuracy), a, epoch_seconds[-1]), file=sys.stderr, flush=True)
    return {"seed": seed, "accuracy": accuracy, "loss": loss, "epochSeconds": epoch_seconds}


main(build, IMAGE, train)
