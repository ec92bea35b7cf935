_base_ = './base_config.py'

model = dict(name_path='./configs/cls_loveda.txt')
# SegEarth-OV post-processing (docs/protocol.md), applied by --protocol segearth only.
segearth_postprocess = dict(prob_thd=0.3, bg_idx=0)

test_dataloader = dict(
    dataset=dict(
        type='LoveDADataset',
        data_prefix=dict(img_path='loveDA/img_dir/val', seg_map_path='loveDA/ann_dir/val'),
    )
)
