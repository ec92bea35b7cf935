_base_ = './base_config.py'

model = dict(name_path='./configs/cls_potsdam.txt')
# SegEarth-OV post-processing (docs/protocol.md), applied by --protocol segearth only.
segearth_postprocess = dict(prob_thd=0.1, bg_idx=5)

test_dataloader = dict(
    dataset=dict(
        type='PotsdamDataset',
        data_prefix=dict(img_path='potsdam/img_dir/val', seg_map_path='potsdam/ann_dir/val'),
    )
)
