_base_ = './base_config.py'

model = dict(name_path='./configs/cls_roadval.txt')
# SegEarth-OV post-processing (its configs/cfg_massachusetts_road.py), applied by --protocol segearth only.
segearth_postprocess = dict(prob_thd=0.7, bg_idx=0)

test_dataloader = dict(
    dataset=dict(
        type='MassachusettsRoadDataset',
        data_prefix=dict(img_path='GlobalRoadSet_Val/Massachusetts_test_49/img', seg_map_path='GlobalRoadSet_Val/Massachusetts_test_49/label_cvt'),
    )
)
