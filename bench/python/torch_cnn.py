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
so the suite can say why the column is missing and go on. The IDX reading and the timing rules
are torch_mlp.py's; only the model and the image layout (NCHW, torch's own) differ.
"""
import json
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except Exception as e:  # the suite reports this line and leaves the column out
    print(json.dumps({"error": "import torch failed: %s" % e}))
    sys.exit(0)


def read_idx(path, limit, magic):
    """An IDX file's payload as uint8, after checking its magic number and dimensions."""
    with open(path, "rb") as f:
        data = f.read()
    got = int.from_bytes(data[0:4], "big")
    if got != magic:
        raise ValueError("%s: expected IDX magic 0x%08x, got 0x%08x" % (path, magic, got))
    dims = magic & 0xFF
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    n = min(shape[0], limit)
    size = int(np.prod(shape[1:])) if dims > 1 else 1
    offset = 4 + 4 * dims
    return np.frombuffer(data, dtype=np.uint8, count=n * size, offset=offset).reshape([n] + shape[1:])


def load(files, train_limit, test_limit):
    """Pixels scaled to [0, 1] as float32 (what loadMnist gives Loom), as [n, 1, 28, 28]
    (torch's channels-first layout; Loom's is [n, 28, 28, 1], the same pixels), and class indices."""
    def images(path, limit):
        return torch.from_numpy(read_idx(path, limit, 0x803).reshape(-1, 1, 28, 28).astype(np.float32) / np.float32(255))

    def labels(path, limit):
        return torch.from_numpy(read_idx(path, limit, 0x801).astype(np.int64))

    return (images(files["trainImages"], train_limit), labels(files["trainLabels"], train_limit),
            images(files["testImages"], test_limit), labels(files["testLabels"], test_limit))


def build(seed):
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
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    return model, opt


def step(model, opt, xb, yb):
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(xb), yb)
    loss.backward()
    opt.step()
    # Reading the loss back is part of the step, as Loom's stats and tfjs's trainOnBatch do.
    return loss.item()


def blas_library():
    """The libblas that the loader mapped: OpenBLAS from bench/.peers, or the system's."""
    for line in open("/proc/self/maps"):
        if "libblas" in line or "libopenblas" in line:
            return line.split()[-1]
    return None


def time_steps(cfg):
    """Step end times, as Loom's timing takes them: a fresh model, shuffled batches gathered
    batch by batch, the clock from the end of the last warm-up step to the end of the last
    timed step (start-up reported apart)."""
    x, y, _, _ = load(cfg["files"], cfg["trainLimit"], 1)
    b = cfg["batchSize"]
    total = cfg["warmupSteps"] + cfg["steps"]
    if total * b > x.shape[0]:
        raise ValueError("trainLimit %d is less than (warmupSteps + steps) x batchSize = %d" % (x.shape[0], total * b))
    t_called = time.perf_counter()
    model, opt = build(cfg["seed"])
    model.train()
    perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(cfg["seed"]))
    ends = []
    t_begin = time.perf_counter()
    if cfg["warmupSteps"] == 0:
        ends.append(t_begin)
    for s in range(total):
        idx = perm[s * b:(s + 1) * b]
        step(model, opt, x[idx], y[idx])
        if s >= cfg["warmupSteps"] - 1:
            ends.append(time.perf_counter())
    return {"endsMs": [(t - ends[0]) * 1000 for t in ends], "startupMs": (t_begin - t_called) * 1000}


def evaluate(model, x, y):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for r in range(0, x.shape[0], 1000):
            out = model(x[r:r + 1000])
            loss += F.cross_entropy(out, y[r:r + 1000], reduction="sum").item()
            correct += (out.argmax(1) == y[r:r + 1000]).sum().item()
    model.train()
    return loss / x.shape[0], correct / x.shape[0]


def train(cfg):
    """One seed: test accuracy and loss after every epoch, and each epoch's training seconds
    (evaluation excluded)."""
    x, y, tx, ty = load(cfg["files"], cfg["samples"], cfg["testLimit"])
    b = cfg["batchSize"]
    seed = cfg["seed"]
    model, opt = build(seed)
    model.train()
    gen = torch.Generator().manual_seed(seed)
    accuracy, loss, epoch_seconds = [], [], []
    for _ in range(cfg["epochs"]):
        t0 = time.perf_counter()
        perm = torch.randperm(x.shape[0], generator=gen)
        for r in range(0, x.shape[0], b):
            idx = perm[r:r + b]
            step(model, opt, x[idx], y[idx])
        epoch_seconds.append(time.perf_counter() - t0)
        l, a = evaluate(model, tx, ty)
        loss.append(l)
        accuracy.append(a)
        # One line per epoch on stderr, so a long run shows progress (stdout keeps the one JSON line).
        print("torch_cnn: epoch %d: test accuracy %.4f, %.1f s" % (len(accuracy), a, epoch_seconds[-1]), file=sys.stderr, flush=True)
    return {"seed": seed, "accuracy": accuracy, "loss": loss, "epochSeconds": epoch_seconds}


def main():
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(cfg["threads"])
    out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    if cfg["mode"] == "time":
        out.update(time_steps(cfg))
    elif cfg["mode"] == "train":
        out.update(train(cfg))
    else:
        raise ValueError("mode must be 'time' or 'train', got %r" % cfg["mode"])
    # After the first convolution, so the library is surely mapped.
    out["blas"] = blas_library()
    print(json.dumps(out))


main()
