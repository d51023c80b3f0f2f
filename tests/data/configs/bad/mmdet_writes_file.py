# Would create ROILOSS_EXECUTED.txt in the working directory if anything ran it.
_base_ = ['../mmdet/_base_/models/mask-rcnn_r50_fpn.py']
marker = open('ROILOSS_EXECUTED.txt', 'w').write('this config was executed')
model = dict(roi_head=dict(bbox_roi_extractor=dict(roi_layer=dict(sampling_ratio=2))))
