_base_ = './base_config.py'

model = dict(name_path='./configs/cls_inria.txt')
# SegEarth-OV post-processing (its configs/cfg_inria.py), applied by --protocol segearth only.
segearth_postprocess = dict(prob_thd=0.6, bg_idx=0)

test_dataloader = dict(
    dataset=dict(
        type='InriaDataset',
        data_prefix=dict(img_path='Inria/img_dir/split_test', seg_map_path='Inria/ann_dir/split_test'),
    )
)
