_base_ = './base_config.py'

model = dict(name_path='./configs/cls_udd5.txt')
# SegEarth-OV post-processing (docs/protocol.md), applied by --protocol segearth only.
segearth_postprocess = dict(prob_thd=0.4, bg_idx=4)

test_dataloader = dict(
    dataset=dict(
        type='UDD5Dataset',
        data_prefix=dict(img_path='UDD5/val/src', seg_map_path='UDD5/val/gt'),
    )
)
