# RS-OVSS base config: what every dataset config (cfg_*.py) shares.
# Edit test_data_root (and any default below); eval_customized.py flags and
# --cfg-options override them. The protocol sets prob_thd, bg_idx and cls_token_lambda.

test_data_root = './data'  # folder that holds OpenEarthMap/, loveDA/, potsdam/, ...
protocol = 'farslip'  # --protocol: 'farslip' | 'segearth' (ovss/protocols.py)
checkpoint_dir = 'checkpoints'  # --checkpoint-dir: where zoo checkpoints live
model_configs = []  # --model-config: extra OpenCLIP model-config JSONs (files or folders)

model = dict(
    type='CustomizedSegmentation',
    model_name='FarSLIP1',  # --method (ovss/zoo.py)
    vit_type='ViT-B-16',  # --vit-type (an OpenCLIP model config name)
    model_type=None,  # --model-type: attention or method (--list methods); None: the
    # zoo method's published dense path (SegEarth for the OpenCLIP family)
    method_options=dict(),  # the method's hyper-parameters; empty: its published defaults
    ignore_residual=True,
    logit_scale=50,
    slide_crop=224,
    slide_stride=112,
    prob_thd=0.0,  # set by the protocol
    bg_idx=0,  # set by the protocol
    cls_token_lambda=0.0,  # set by the protocol
    pretrained=None,  # --pretrained: a checkpoint file instead of the zoo default
    long_clip=None,  # None: detect from the weights; 'disable' | 'load_from_scratch'
    fqg=False,  # --fqg: force QuickGELU
    device=None,  # --device; None: cuda if available, else cpu
    precision=None,  # --precision; None: the method's published precision on cuda, fp32 on cpu
    text_cache_dir=None,  # --text-cache-dir (the CLI defaults it to WORK_DIR/text_cache)
    window_batch=64,  # windows per forward pass, across the images of a batch (speed only)
    keep_probs=False,  # keep per-class probability maps in the predictions (memory only)
    upsampler=None,  # --upsampler FILE: SegEarth-OV's SimFeatUp weights (its full pipeline)
    force_upsampler=False,  # --force-upsampler: on a model it was not trained for (extension)
)

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(448, 448), keep_ratio=True),
    # labels are loaded after Resize: the metric is computed at the original resolution
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]

test_dataloader = dict(
    batch_size=None,  # images per step, their windows share forward passes; None: 16 on
    # a GPU, 2 on a CPU (ovss/runtime.py; speed only)
    num_workers=None,  # --num-workers; None: sized from the machine (ovss/runtime.py)
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    # serialize_data=False: mmengine's serialisation (for sharing huge annotation lists with
    # workers) ends in a gc.collect() that costs ~0.5 s per dataset with a model in memory.
    dataset=dict(data_root=test_data_root, pipeline=test_pipeline, serialize_data=False),
)
test_evaluator = dict(type='OVSSIoUMetric', iou_metrics=['mIoU'])
test_cfg = dict(type='TestLoop')

# Registers RS-OVSS's datasets, segmentor, metric and progress hook (repo root on sys.path).
custom_imports = dict(
    imports=['mmcv_compat', 'custom_datasets', 'customized_segmentor', 'ovss.metric', 'ovss.progress'],
    allow_failed_imports=False,
)
default_scope = 'mmseg'
launcher = 'none'  # --launcher pytorch: one process per device under torchrun
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
# mmengine's messages: the terminal shows log_level and above (the progress line and the
# results are printed apart), the run's log file <run folder>/logs/<time>/<time>.log
# log_file_level and above (environment, config, test progress, metric).
log_level = 'WARNING'
log_file_level = 'INFO'
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
)
