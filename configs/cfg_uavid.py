_base_ = './base_config.py'

model = dict(name_path='./configs/cls_uavid.txt')
# SegEarth-OV post-processing (docs/protocol.md), applied by --protocol segearth only.
segearth_postprocess = dict(prob_thd=0.3, bg_idx=0)

test_dataloader = dict(
    dataset=dict(
        type='UAVidDataset',
        data_prefix=dict(img_path='UAVid/img_dir/test', seg_map_path='UAVid/ann_dir/test'),
    )
)
