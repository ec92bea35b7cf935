_base_ = './base_config.py'

model = dict(name_path='./configs/cls_roadval.txt')
# SegEarth-OV post-processing (its configs/cfg_spacenet_road.py), applied by --protocol segearth only.
segearth_postprocess = dict(prob_thd=0.7, bg_idx=0)

test_dataloader = dict(
    dataset=dict(
        type='SpaceNetRoadDataset',
        data_prefix=dict(img_path='GlobalRoadSet_Val/SpaceNet_test_567/img', seg_map_path='GlobalRoadSet_Val/SpaceNet_test_567/label_cvt'),
    )
)
