_base_ = './base_config.py'

model = dict(name_path='./configs/cls_iSAID.txt')
# SegEarth-OV post-processing (docs/protocol.md), applied by --protocol segearth only.
segearth_postprocess = dict(prob_thd=0.4, bg_idx=0)

test_dataloader = dict(
    dataset=dict(
        type='iSAIDDataset',
        data_prefix=dict(img_path='iSAID/img_dir/val', seg_map_path='iSAID/ann_dir/val'),
    )
)
