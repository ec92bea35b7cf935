# RS-OVSS base config: what every dataset config (cfg_*.py) shares.
# Edit test_data_root (and any model default below); eval_customized.py flags override them.
# The protocol (--protocol, default farslip) sets prob_thd, bg_idx and cls_token_lambda.

test_data_root = './data'  # folder that holds OpenEarthMap/, loveDA/, potsdam/, ...

model = dict(
    type='CustomizedSegmentation',
    model_name='FarSLIP1',  # --method
    vit_type='ViT-B-16',  # --vit-type (an OpenCLIP model config name)
    model_type='SegEarth',  # last-layer attention (--model-type)
    ignore_residual=True,
    logit_scale=50,
    slide_crop=224,
    slide_stride=112,
    prob_thd=0.0,
    bg_idx=0,
    cls_token_lambda=0.0,
    pretrained=None,  # --pretrained: a checkpoint file instead of the zoo default
    long_clip=None,  # None: detect from the weights; 'disable' | 'load_from_scratch'
    fqg=False,  # force QuickGELU
    checkpoint_dir='checkpoints',
    device=None,  # None: cuda if available, else cpu
    precision=None,  # None: fp16 on cuda, fp32 on cpu
)

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(448, 448), keep_ratio=True),
    # labels are loaded after Resize: the metric is computed at the original resolution
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]

test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(data_root=test_data_root, pipeline=test_pipeline),
)
test_evaluator = dict(type='OVSSIoUMetric', iou_metrics=['mIoU'])
test_cfg = dict(type='TestLoop')

default_scope = 'mmseg'
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
log_level = 'WARNING'
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
)
