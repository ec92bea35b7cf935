_base_ = './base_config.py'

model = dict(name_path='./configs/cls_chn6-cug.txt')
# SegEarth-OV post-processing (its configs/cfg_chn6-cug.py), applied by --protocol segearth only.
segearth_postprocess = dict(prob_thd=0.8, bg_idx=0)

test_dataloader = dict(
    dataset=dict(
        type='CHN6CUGDataset',
        data_prefix=dict(img_path='CHN6-CUG/val/image_cvt', seg_map_path='CHN6-CUG/val/label_cvt'),
    )
)
