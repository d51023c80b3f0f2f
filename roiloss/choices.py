"""Names the library and the command line both accept, in a module that imports nothing heavy:
the command line builds its options from them without importing numpy or pandas, so
``roiloss --help`` and ``--version`` start fast. The modules that define the things named here
check at import that the names agree."""

DETAILS = ("bins", "samples", "cells")  # what roiloss.grid lists
INPUT_FORMATS = ("csv", "coco", "coco-results", "voc", "yolo", "openimages", "jsonl", "parquet", "arrow")  # what roiloss.read_boxes reads
PLACEMENTS = ("centered", "thirds")  # Geometry.placement
ARITHMETICS = ("float32", "exact")  # Geometry.arithmetic
HEADS = ("box", "mask")  # Preset.pool(head)
MAPPERS = ("torchvision", "detectron2", "maskrcnn-benchmark", "mmdet", "matterport", "tensorrt")  # Pyramid.mapper
RULES = ("torchvision", "detectron2", "mmdet", "maskrcnn-benchmark", "fast-rcnn", "square", "fixed", "none")  # Resize.rule
METHOD_NAMES = ("roipool", "roipool-floor", "roiwarp", "roialign", "roialign-legacy",  # roiloss.METHODS
                "crop-and-resize", "crop-and-resize-mrcnn", "prroipool", "roipool-mmcv", "roialign-openvino",
                "roialign-tensorrt", "trt-pyramid", "trt-pyramid-t1",
                "trt-pyramid-t0", "trt-pyramid-legacy")
PRESET_NAMES = ("torchvision", "detectron2", "mmdet", "maskrcnn-benchmark", "fast-rcnn", "mnc",  # roiloss.PRESETS
                "tensorrt-detectron2")
