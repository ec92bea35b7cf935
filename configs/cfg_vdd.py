_base_ = './base_config.py'

model = dict(name_path='./configs/cls_vdd.txt')
# SegEarth-OV post-processing (docs/protocol.md), applied by --protocol segearth only.
segearth_postprocess = dict(prob_thd=0.3, bg_idx=0)

test_dataloader = dict(
    dataset=dict(
        type='VDDDataset',
        data_prefix=dict(img_path='VDD/test/src', seg_map_path='VDD/test/gt'),
    )
)
