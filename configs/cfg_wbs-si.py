_base_ = './base_config.py'

model = dict(name_path='./configs/cls_wbs-si.txt')
# SegEarth-OV post-processing (its configs/cfg_wbs-si.py), applied by --protocol segearth only.
segearth_postprocess = dict(prob_thd=0.6, bg_idx=0)

test_dataloader = dict(
    dataset=dict(
        type='WBSSIDataset',
        data_prefix=dict(img_path='WBS-SI/Images', seg_map_path='WBS-SI/Masks_cvt'),
    )
)
