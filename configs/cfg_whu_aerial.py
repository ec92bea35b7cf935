_base_ = './base_config.py'

model = dict(name_path='./configs/cls_whu.txt')
# SegEarth-OV post-processing (its configs/cfg_whu_aerial.py), applied by --protocol segearth only.
segearth_postprocess = dict(prob_thd=0.6, bg_idx=0)

test_dataloader = dict(
    dataset=dict(
        type='WHUAerialDataset',
        data_prefix=dict(img_path='WHU-BD/val/image', seg_map_path='WHU-BD/val/label_cvt'),
    )
)
