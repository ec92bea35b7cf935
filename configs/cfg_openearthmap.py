_base_ = './base_config.py'

model = dict(name_path='./configs/cls_openearthmap.txt')
# SegEarth-OV post-processing (docs/protocol.md), applied by --protocol segearth only.
segearth_postprocess = dict(prob_thd=0.1, bg_idx=0)

test_dataloader = dict(
    dataset=dict(
        type='OpenEarthMapDataset',
        data_prefix=dict(img_path='OpenEarthMap/img_dir/val', seg_map_path='OpenEarthMap/ann_dir/val'),
    )
)
