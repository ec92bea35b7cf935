_base_ = './base_config.py'

model = dict(name_path='./configs/cls_xBD.txt')
# SegEarth-OV post-processing (its configs/cfg_xBD.py), applied by --protocol segearth only.
# xBD is SegEarth-OV's one config without the CLS bias (its cls_token_lambda=0).
segearth_postprocess = dict(prob_thd=0.0, bg_idx=0, cls_token_lambda=0.0)

test_dataloader = dict(
    dataset=dict(
        type='xBDDataset',
        data_prefix=dict(img_path='xBD/test/images_pre', seg_map_path='xBD/test/targets_cvt_pre'),
    )
)
