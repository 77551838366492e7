"""What the PyTorch peers (torch_mlp.py, torch_cnn.py) share: the MNIST IDX files read as Loom
reads them, one training step, the step timing as Loom takes it, the test evaluation and the
command line. Each script supplies its model (`build(cfg, seed)`), the shape of an image batch
and its `train` loop; numpy and torch are imported by the scripts, which report a failed import
as one JSON line.
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


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


def load(files, train_limit, test_limit, image_shape):
    """Pixels scaled to [0, 1] as float32 (what loadMnist gives Loom), each image reshaped to
    `image_shape` ([784] for the MLP, [1, 28, 28] for the convnet: torch's channels-first
    layout of Loom's [28, 28, 1]), and class indices."""
    def images(path, limit):
        return torch.from_numpy(read_idx(path, limit, 0x803).reshape([-1] + list(image_shape)).astype(np.float32) / np.float32(255))

    def labels(path, limit):
        return torch.from_numpy(read_idx(path, limit, 0x801).astype(np.int64))

    return (images(files["trainImages"], train_limit), labels(files["trainLabels"], train_limit),
            images(files["testImages"], test_limit), labels(files["testLabels"], test_limit))


def adam(model):
    """Keras's Adam defaults (epsilon 1e-7, not torch's 1e-8)."""
    return torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)


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


def time_steps(cfg, build, image_shape):
    """Step end times, as Loom's timing takes them: a fresh model, shuffled batches gathered
    batch by batch, the clock from the end of the last warm-up step to the end of the last
    timed step (start-up reported apart)."""
    x, y, _, _ = load(cfg["files"], cfg["trainLimit"], 1, image_shape)
    b = cfg["batchSize"]
    total = cfg["warmupSteps"] + cfg["steps"]
    if total * b > x.shape[0]:
        raise ValueError("trainLimit %d is less than (warmupSteps + steps) x batchSize = %d" % (x.shape[0], total * b))
    t_called = time.perf_counter()
    model, opt = build(cfg, cfg["seed"])
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


def train_epoch(model, opt, x, y, batch_size, gen):
    """One shuffled epoch; its training seconds."""
    t0 = time.perf_counter()
    perm = torch.randperm(x.shape[0], generator=gen)
    for r in range(0, x.shape[0], batch_size):
        idx = perm[r:r + batch_size]
        step(model, opt, x[idx], y[idx])
    return time.perf_counter() - t0


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


def main(build, image_shape, train):
    """`python3 script.py '<json config>'`: mode "time" or "train"; prints one line of JSON."""
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(cfg["threads"])
    out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    if cfg["mode"] == "time":
        out.update(time_steps(cfg, build, image_shape))
    elif cfg["mode"] == "train":
        out.update(train(cfg))
    else:
        raise ValueError("mode must be 'time' or 'train', got %r" % cfg["mode"])
    # After the first product, so the library is surely mapped.
    out["blas"] = blas_library()
    print(json.dumps(out))
