_base_ = ['../mmdet/_base_/models/mask-rcnn_r50_fpn.py']
model = dict(
    roi_head=dict(
        bbox_roi_extractor=dict(featmap_strides=_base_.model.roi_head.mask_roi_extractor.featmap_strides)))
