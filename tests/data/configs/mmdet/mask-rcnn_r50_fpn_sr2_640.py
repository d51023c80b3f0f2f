"""A user's Mask R-CNN: the base model and dataset, two samples per bin, finest_scale 112 and a
640-px test size (written for roiloss's tests; parsed by roiloss, never executed)."""
_base_ = [
    '_base_/models/mask-rcnn_r50_fpn.py',
    '_base_/datasets/coco_instance.py',
]

short_side = 640
model = dict(
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(sampling_ratio=2),
            finest_scale=112)))

test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=(1333, short_side), keep_ratio=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
