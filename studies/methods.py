# Study: the training-free methods side by side on one backbone (tools/run_study.py).
#
#   .venv/bin/python tools/run_study.py studies/methods.py
#
# OpenAI CLIP ViT-B/16 (hub tag, or pass -- --pretrained FILE offline) on the eight datasets
# of the FarSLIP table, FarSLIP protocol. Each method is its published default: SegEarth (the
# reference last layer), NACLIP and ClearCLIP (the last-layer bases the newer methods build
# on), SC-CLIP, ResCLIP, ProxyCLIP with both proxies (their weights, dino_vitbase8_pretrain.pth
# and dinov2_vitb14_reg4_pretrain.pth, in --checkpoint-dir), and SegEarth-OV's full pipeline
# (SimFeatUp, segearth protocol; its weights xclip_jbu_one_million_aid.ckpt in checkpoints/).
# The comparison puts the runs in one table with a method column.
_clip = dict(method="CLIP", vit_type="ViT-B-16", fqg=True)  # OpenAI weights: QuickGELU
runs = [
    dict(**_clip, model_type=["SegEarth", "NACLIP", "ClearCLIP", "SC-CLIP", "ResCLIP"]),
    dict(**_clip, model_type="ProxyCLIP", proxy=["dino-b8", "dinov2-b14-reg"]),
    dict(
        **_clip,
        model_type="SegEarth",
        protocol="segearth",
        upsampler="checkpoints/xclip_jbu_one_million_aid.ckpt",
    ),
]
datasets = "farslip"
flags = dict(protocol="farslip")
cfg_options = dict()
