# Study: the published figure (tools/run_study.py).
#
#   .venv/bin/python tools/run_study.py studies/farslip_figure.py --gpus 4
#   .venv/bin/python tools/compare_runs.py work_dir/ViT-B-16 work_dir/ViT-B-32 --with-published
#
# Every remote-sensing and general-domain method of the model zoo, at the backbones the zoo
# has weights for among those of the figure (ViT-B/16, ViT-B/32; TIPS: its ViT-B/14), on the
# eight datasets of the FarSLIP table with the FarSLIP protocol. Each method runs its published
# dense path and precision (no --model-type, no --precision). The zoo's checkpoints must be in
# checkpoints/ (README, model zoo); CLIP and MetaCLIP come from open_clip's hub tags.
_general_b16 = ["CLIP", "MetaCLIP", "CLIPSelf", "FineCLIP", "COSMOS", "FLAIR"]
_remote_sensing_b16 = ["FarSLIP1", "FarSLIP2", "FarSLIP2-VC", "LRSCLIP"]
_general_b32 = ["CLIP", "MetaCLIP"]
_remote_sensing_b32 = ["FarSLIP1", "FarSLIP2", "FarSLIP2-VC", "RemoteCLIP", "SkyCLIP", "GeoRSCLIP"]
runs = [
    dict(method=_general_b16 + _remote_sensing_b16, vit_type="ViT-B-16"),
    dict(method=_general_b32 + _remote_sensing_b32, vit_type="ViT-B-32"),
    dict(method="TIPS", vit_type="ViT-B-14"),
]
datasets = "farslip"
flags = dict(protocol="farslip")
