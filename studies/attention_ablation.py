# Study: the nine last-layer attentions on one model (tools/run_study.py).
#
#   .venv/bin/python tools/run_study.py studies/attention_ablation.py
#
# FarSLIP1 ViT-B/16 (its zoo checkpoint) on the eight datasets of the FarSLIP table, FarSLIP
# protocol; only the attention of the last block changes between runs (SegEarth is the
# published one). The comparison puts the nine runs in one table with an attention column.
runs = dict(
    method="FarSLIP1",
    vit_type="ViT-B-16",
    model_type=[
        "vanilla",
        "MaskCLIP",
        "SCLIP",
        "ClearCLIP",
        "SegEarth",
        "NACLIP",
        "GAV",
        "NOnly",
        "GEM",
    ],
)
datasets = "farslip"
flags = dict(protocol="farslip")
cfg_options = dict()
