_base_ = './base_config.py'

model = dict(name_path='./configs/cls_whu.txt')
# SegEarth-OV post-processing (its configs/cfg_whu_sat_II.py), applied by --protocol segearth only.
segearth_postprocess = dict(prob_thd=0.7, bg_idx=0)

test_dataloader = dict(
    dataset=dict(
        type='WHUSatIIDataset',
        data_prefix=dict(img_path='WHU-Sat-II/test/image', seg_map_path='WHU-Sat-II/test/label_cvt'),
    )
)
