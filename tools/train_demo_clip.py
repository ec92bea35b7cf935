"""Train the bundled demo model: a small OpenCLIP ViT, from scratch, on generated aerial scenes.

Why: the demo (``eval_customized.py --demo``) must segment meaningfully on a fresh machine with
nothing downloaded, so the project trains its own toy CLIP on ``tools/demo_scenes.py`` scenes.
It is a toy for checking an installation, not a remote-sensing model.

    .venv/bin/python tools/train_demo_clip.py          # writes demo/DemoCLIP.pt (+ .json record)
    .venv/bin/python tools/train_demo_clip.py --steps 3 --batch 8 --pool 8 --out /tmp/t.pt

Model: ``model_configs/DemoCLIP-ViT-T-16.json`` (``--model``/``--model-config`` pick another):
a 112-pixel ViT, patch 16, width 192, 6 layers; text width 64, 4 layers, context 77, the
standard tokenizer; 6.2M parameters, 11.9 MiB in fp16 (the 49408-row token embedding is half).
Defaults (seed 1, 800 steps of 64 views, AdamW lr 1e-3, wd 0.05, betas 0.9/0.98, 40-step
warm-up then cosine) took 13.2 min on 2 CPU threads (~0.95 s a step when the CPU is not shared)
and give a mean mIoU of 50.3 over the eight bundled demo datasets (SegEarth attention, default
protocol), against 5.8 for the same architecture with random weights. Runs are seeded and
repeat bit for bit on one machine and thread count; other CPUs may differ in the last bits.

Recipe (image-text supervision only; the scene labels only decide what a caption says and
which patches a region caption covers):

- Views: 112-pixel crops of generated scenes (random zoom, flips, quarter turns), each with a
  caption naming its classes ("an aerial image of a road, trees and a roof."); a quarter of
  them are close-up crops captioned by their dominant class. Class names are drawn from the
  vocabulary of all eight dataset class files, synonyms included, inside the 80 OpenAI prompt
  templates the evaluation uses plus a few aerial ones.
- Loss 1: CLIP contrastive loss on the pooled (CLS) embedding. Captions that name the same set
  of classes are positives for each other, so repeated captions are not false negatives.
- Loss 2: the same contrastive loss on the mean of the normalised patch features of the
  evaluation's dense path (last block with SegEarth attention, no residual): this trains the
  features that the benchmark actually reads.
- Loss 3: region-caption alignment on that dense path: per view and class, the patch features
  pooled over the class's region are classified against one prompt per vocabulary name
  (softmax at the evaluation's logit scale 50; a name that covers several generator classes,
  e.g. "vegetation" or "impervious surface", is a partial target for each). Names the generator
  cannot draw (iSAID's ship, harbor, ...; UAVid's human) are negatives only, so they do not
  attract pixels at evaluation time.

The checkpoint is the bare state_dict of ``open_clip.create_model(<config>)`` (fp16 by default),
so the tool loads it through its ordinary strict path.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

MODEL_CONFIG_DIR = os.path.join(ROOT, "model_configs")
DEFAULT_MODEL = "DemoCLIP-ViT-T-16"
TRAIN_SEED = 1  # scenes are drawn from seeds derived from this; the demo data uses DEMO_SEED


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "demo", "DemoCLIP.pt"))
    ap.add_argument("--model", default=DEFAULT_MODEL, help="OpenCLIP model config name")
    ap.add_argument("--model-config", default=MODEL_CONFIG_DIR, help="folder or JSON file")
    ap.add_argument("--seed", type=int, default=TRAIN_SEED)
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=40)
    ap.add_argument("--dense-weight", type=float, default=1.0)
    ap.add_argument("--region-weight", type=float, default=1.0)
    ap.add_argument("--pool", type=int, default=1200, help="scenes kept in memory")
    ap.add_argument("--refresh", type=int, default=8, help="scenes replaced per step")
    ap.add_argument("--scene-px", type=int, default=144, help="generated scene side")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--save-every", type=int, default=0, help="also save OUT_step<N>.pt")
    ap.add_argument("--fp32", dest="fp16", action="store_false", help="save fp32 weights")
    return ap.parse_args(argv)


if __name__ == "__main__":  # --help answers before the heavy imports below (torch, open_clip)
    parse_args()

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import open_clip  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES  # noqa: E402

import demo_scenes  # noqa: E402
from demo_scenes import GEN_CLASSES, G  # noqa: E402
from dense.attentions import ATTENTIONS  # noqa: E402
from dense.last_layer import last_block  # noqa: E402
from model_families.openclip_tower import OpenCLIPTower, patch_size  # noqa: E402

MEAN = np.float32([122.771, 116.746, 104.094])  # the evaluation's normalisation (0-255 scale)
STD = np.float32([68.501, 66.632, 70.323])
EVAL_LOGIT_SCALE = 50.0

# Names per generator class (the eight class files' names and synonyms, plus a few more).
NAMES: dict[str, tuple[str, ...]] = {
    "clutter": ("clutter", "background", "debris"),
    "building": ("building", "roof", "house", "rooftop", "buildings"),
    "facade": ("facade", "building facade", "wall"),
    "road": ("road", "street", "asphalt road"),
    "pavement": ("pavement", "parking lot", "sidewalk", "paved area"),
    "tree": ("tree", "trees", "forest", "woodland"),
    "grass": ("grass", "low vegetation", "lawn", "meadow"),
    "water": ("water", "river", "lake"),
    "bare": ("bareland", "barren", "bare land", "bare soil"),
    "car": ("car", "small vehicle", "cars"),
    "field": ("cropland", "agricultural", "farmland", "agricultural field"),
    "large_vehicle": ("large vehicle", "truck", "lorry"),
    "storage_tank": ("store tank", "storage tank", "oil tank"),
    "swimming_pool": ("swimming pool", "pool"),
    "tennis_court": ("tennis court", "court"),
    "plane": ("plane", "airplane", "aircraft"),
}
# Names that cover several generator classes: weight per class (1 = as much as its own names).
SHARED: dict[str, dict[str, float]] = {
    "impervious surface": {"road": 1.0, "pavement": 1.0},
    "vehicle": {"car": 1.0, "large_vehicle": 1.0},
    "vegetation": {"grass": 1.0, "tree": 0.5},
    "building": {"facade": 0.5},
}
# Class names of the eight datasets that the generator does not draw: negatives only.
DISTRACTORS = (
    "ship",
    "baseball diamond",
    "basketball court",
    "ground track field",
    "bridge",
    "helicopter",
    "roundabout",
    "soccer ball field",
    "harbor",
    "human",
)
AERIAL_TEMPLATES = (
    "an aerial image of {}.",
    "a satellite image of {}.",
    "an aerial photo showing {}.",
    "{} seen from above.",
    "a remote sensing image of {}.",
    "an overhead view of {}.",
)


@dataclass(frozen=True)
class Vocabulary:
    """Every name the model is trained on and its target weight per generator class."""

    phrases: tuple[str, ...]
    weights: np.ndarray  # (len(phrases), len(GEN_CLASSES))


def build_vocabulary() -> Vocabulary:
    table: dict[str, np.ndarray] = {}
    for cls, names in NAMES.items():
        for name in names:
            table.setdefault(name, np.zeros(len(GEN_CLASSES), np.float32))[G[cls]] = 1.0
    for name, per_class in SHARED.items():
        row = table.setdefault(name, np.zeros(len(GEN_CLASSES), np.float32))
        for cls, w in per_class.items():
            row[G[cls]] = max(row[G[cls]], w)
    for name in DISTRACTORS:
        table.setdefault(name, np.zeros(len(GEN_CLASSES), np.float32))
    phrases = tuple(table)
    return Vocabulary(phrases, np.stack([table[p] for p in phrases]))


def template(rng: np.random.Generator, text: str) -> str:
    """One prompt: the evaluation's ImageNet templates half the time, aerial ones otherwise."""
    if rng.random() < 0.5:
        return OPENAI_IMAGENET_TEMPLATES[rng.integers(len(OPENAI_IMAGENET_TEMPLATES))](text)
    return AERIAL_TEMPLATES[rng.integers(len(AERIAL_TEMPLATES))].format(text)


def caption(rng: np.random.Generator, classes: list[int]) -> str:
    """A caption naming ``classes`` (largest first), each by a random own name."""
    names = [str(rng.choice(NAMES[GEN_CLASSES[c]])) for c in classes]
    text = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return template(rng, text)


# ----------------------------------------------------------------------------- data
class ScenePool:
    """A refreshed pool of generated scenes, so generating does not dominate a CPU step.

    Each step replaces ``refresh`` scenes; views are random crops, so a scene is seen a few
    times at different zooms, positions and orientations before it is replaced.
    """

    def __init__(self, rng: np.random.Generator, size: int, scene_px: int, refresh: int):
        self.rng, self.scene_px, self.refresh = rng, scene_px, refresh
        self.scenes = [self._new() for _ in range(size)]
        self.next = 0

    def _new(self) -> demo_scenes.Scene:
        rng = self.rng
        scale = demo_scenes.MODEL_SCALE * rng.uniform(0.8, 1.45)  # before the view's resize
        if rng.random() < 0.6:  # a dataset's class subset, as in its demo scenes
            ds = demo_scenes.DATASETS[str(rng.choice(list(demo_scenes.DATASETS)))]
            classes, kind = ds.mapping.keys(), str(rng.choice(ds.kinds))
        else:
            classes, kind = None, None
        return demo_scenes.generate_scene(rng, self.scene_px, self.scene_px, scale, classes, kind)

    def step(self) -> None:
        for _ in range(self.refresh):
            self.scenes[self.next] = self._new()
            self.next = (self.next + 1) % len(self.scenes)

    def view(self, size: int, close_up: bool) -> tuple[np.ndarray, np.ndarray]:
        """(size, size, 3) uint8 RGB and (size, size) labels of one random crop."""
        rng = self.rng
        scene = self.scenes[rng.integers(len(self.scenes))]
        n = self.scene_px
        side = int(n * (rng.uniform(0.35, 0.6) if close_up else rng.uniform(0.7, 1.0)))
        y, x = rng.integers(0, n - side + 1, 2)
        img = scene.image[y : y + side, x : x + side]
        lab = scene.label[y : y + side, x : x + side]
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
        lab = cv2.resize(lab, (size, size), interpolation=cv2.INTER_NEAREST)
        k = int(rng.integers(4))
        img, lab = np.rot90(img, k), np.rot90(lab, k)
        if rng.random() < 0.5:
            img, lab = img[:, ::-1], lab[:, ::-1]
        return np.ascontiguousarray(img), np.ascontiguousarray(lab)


@dataclass
class Batch:
    images: torch.Tensor  # (B, 3, S, S) normalised
    patch_frac: torch.Tensor  # (B, g*g, C) fraction of each generator class per patch
    captions: list[str]
    keys: list[tuple[int, ...]]  # class set named by each caption


def make_batch(
    pool: ScenePool, batch: int, size: int, patch: int, rng: np.random.Generator
) -> Batch:
    images, fracs, captions, keys = [], [], [], []
    n_cls = len(GEN_CLASSES)
    g = size // patch
    for i in range(batch):
        close_up = i < batch // 4
        img, lab = pool.view(size, close_up)
        onehot = np.eye(n_cls, dtype=np.float32)[lab]  # (S, S, C)
        frac = onehot.reshape(g, patch, g, patch, n_cls).mean((1, 3)).reshape(g * g, n_cls)
        area = frac.mean(0)
        order = [int(c) for c in np.argsort(-area) if area[c] > 0.04]
        named = order[:1] if close_up else order[: int(rng.integers(2, 5))]
        named = named or [int(np.argmax(area))]
        images.append((img.astype(np.float32) - MEAN) / STD)
        fracs.append(frac)
        captions.append(caption(rng, named))
        keys.append(tuple(sorted(named)))
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    return Batch(x, torch.from_numpy(np.stack(fracs)), captions, keys)


# ----------------------------------------------------------------------------- model
def forward_image(
    model: torch.nn.Module, images: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(pooled CLS embedding, dense patch features) sharing the trunk.

    The dense features are the evaluation's: the last block with SegEarth attention and no
    residual (``dense.last_layer.last_block``), then ln_post and the projection.
    """
    tower = OpenCLIPTower(model.visual)
    x = tower.run_blocks(tower.embed(images), tower.depth - 1)
    visual = model.visual
    pooled = visual.ln_post(tower.block(tower.depth - 1, x))[:, 0] @ visual.proj
    dense = last_block(tower, x, ATTENTIONS["SegEarth"], True, tower.grid(images))
    return pooled, tower.head(dense)[:, 1:]


def encode_text(model: torch.nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """``model.encode_text`` on the tokens up to the longest caption's end-of-text token.

    Why: the causal mask keeps later (padding) positions from reaching the end-of-text
    feature, so cutting them is exact, and captions are ~15 of the 77 positions.
    """
    length = int(tokens.argmax(dim=-1).max()) + 1
    tokens = tokens[:, :length]
    x = model.token_embedding(tokens) + model.positional_embedding[:length]
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    x = x[torch.arange(len(tokens)), tokens.argmax(dim=-1)]
    return x @ model.text_projection


def multi_positive_nce(
    img: torch.Tensor, txt: torch.Tensor, pos: torch.Tensor, scale
) -> torch.Tensor:
    """Symmetric InfoNCE where every caption with the same class set is a positive."""
    logits = scale * img @ txt.t()
    neg_inf = torch.finfo(logits.dtype).min

    def one_way(lg: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        return (torch.logsumexp(lg, 1) - torch.logsumexp(lg.masked_fill(~p, neg_inf), 1)).mean()

    return 0.5 * (one_way(logits, pos) + one_way(logits.t(), pos.t()))


def region_loss(
    patches: torch.Tensor, frac: torch.Tensor, phrase_feats: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """Per view and present class: pooled normalised patch features vs all vocabulary names."""
    feats = F.normalize(patches, dim=-1)  # (B, N, D)
    mass = frac.sum(1)  # (B, C) patches' worth of each class
    region = torch.einsum("bnc,bnd->bcd", frac, feats) / mass.clamp_min(1e-6)[..., None]
    present = mass >= 0.75  # at least most of one patch
    region = F.normalize(region[present], dim=-1)  # (R, D)
    cls = present.nonzero()[:, 1]
    target = targets[:, cls].t()  # (R, P)
    target = target / target.sum(1, keepdim=True)
    logp = (EVAL_LOGIT_SCALE * region @ phrase_feats.t()).log_softmax(1)
    return -(target * logp).sum(1).mean()


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on matrices only (not norms, biases, embeddings or the logit scale)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        is_matrix = p.ndim >= 2 and "embedding" not in name and "token" not in name
        (decay if is_matrix else no_decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


# ----------------------------------------------------------------------------- training
def train(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    open_clip.add_model_config(args.model_config)
    model = open_clip.create_model(args.model, pretrained=None)
    tokenizer = open_clip.get_tokenizer(args.model)
    size = model.visual.image_size
    size = size if isinstance(size, int) else size[0]
    patch = patch_size(model.visual)
    vocab = build_vocabulary()
    targets = torch.from_numpy(vocab.weights)

    t0 = time.time()
    pool = ScenePool(rng, args.pool, args.scene_px, args.refresh)
    print(f"pool of {args.pool} scenes in {time.time() - t0:.1f}s", flush=True)

    opt = torch.optim.AdamW(
        param_groups(model, args.wd), lr=args.lr, betas=(0.9, 0.98), eps=1e-6, foreach=True
    )

    def lr_at(step: int) -> float:
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        t = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * t)))

    model.train()
    log: dict = {"steps": []}
    start = time.time()
    for step in range(args.steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        batch = make_batch(pool, args.batch, size, patch, rng)
        pool.step()
        prompts = [template(rng, p) for p in vocab.phrases]
        tokens = tokenizer(batch.captions + prompts)
        text = F.normalize(encode_text(model, tokens), dim=-1)
        cap_feats, phrase_feats = text[: args.batch], text[args.batch :]
        pooled, patches = forward_image(model, batch.images)
        pos = torch.tensor([[a == b for b in batch.keys] for a in batch.keys])
        scale = model.logit_scale.exp().clamp(max=100)
        l_cls = multi_positive_nce(F.normalize(pooled, dim=-1), cap_feats, pos, scale)
        dense_mean = F.normalize(F.normalize(patches, dim=-1).mean(1), dim=-1)
        l_dense = multi_positive_nce(dense_mean, cap_feats, pos, scale)
        l_region = region_loss(patches, batch.patch_frac, phrase_feats, targets)
        loss = l_cls + args.dense_weight * l_dense + args.region_weight * l_region
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % args.log_every == 0 or step == args.steps - 1:
            row = {
                "step": step,
                "loss": round(loss.item(), 4),
                "cls": round(l_cls.item(), 4),
                "dense": round(l_dense.item(), 4),
                "region": round(l_region.item(), 4),
                "elapsed_s": round(time.time() - start, 1),
            }
            log["steps"].append(row)
            print(json.dumps(row), flush=True)
        if args.save_every and (step + 1) % args.save_every == 0 and step + 1 < args.steps:
            save(model, f"{os.path.splitext(args.out)[0]}_step{step + 1}.pt", args.fp16)
    log["wall_s"] = round(time.time() - t0, 1)
    save(model, args.out, args.fp16)
    paths = {k: _rel(v) for k, v in vars(args).items() if k in ("out", "model_config")}
    record = {
        "args": {**vars(args), **paths},
        "torch": torch.__version__,
        "open_clip": open_clip.__version__,
    }
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump({**record, **log}, f, indent=1)
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 2**20:.1f} MiB) after {log['wall_s']}s")
    return log


def _rel(path: str) -> str:
    """Paths inside the repository are recorded relative to it (the record is committed)."""
    full = os.path.abspath(path)
    return os.path.relpath(full, ROOT) if full.startswith(ROOT + os.sep) else path


def save(model: torch.nn.Module, path: str, fp16: bool) -> None:
    """The bare state_dict of the OpenCLIP model (fp16 halves the committed size)."""
    state = model.state_dict()
    if fp16:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save(state, path)


def main(argv: list[str] | None = None) -> int:
    train(parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
