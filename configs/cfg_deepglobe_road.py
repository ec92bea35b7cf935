_base_ = './base_config.py'

model = dict(name_path='./configs/cls_roadval.txt')
# SegEarth-OV post-processing (its configs/cfg_deepglobe_road.py), applied by --protocol segearth only.
segearth_postprocess = dict(prob_thd=0.7, bg_idx=0)

test_dataloader = dict(
    dataset=dict(
        type='DeepGlobeRoadDataset',
        data_prefix=dict(img_path='GlobalRoadSet_Val/DeepGlobe_test_1530/image_cvt', seg_map_path='GlobalRoadSet_Val/DeepGlobe_test_1530/label_cvt'),
    )
)
