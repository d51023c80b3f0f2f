"""Names the library and the command line both accept, in a module that imports nothing heavy:
the command line builds its options from them without importing numpy or pandas, so
``roiloss --help`` and ``--version`` start fast. The modules that define the things named here
check at import that the names agree."""

DETAILS = ("bins", "samples", "cells")  # what roiloss.grid lists
INPUT_FORMATS = ("csv", "coco")  # what roiloss.read_boxes reads
PLACEMENTS = ("centered", "thirds")  # Geometry.placement
ARITHMETICS = ("float32", "exact")  # Geometry.arithmetic
HEADS = ("box", "mask")  # Preset.pool(head)
MAPPERS = ("torchvision", "detectron2", "maskrcnn-benchmark", "mmdet", "matterport")  # Pyramid.mapper
RULES = ("torchvision", "detectron2", "mmdet", "maskrcnn-benchmark", "fast-rcnn", "square", "fixed", "none")  # Resize.rule
METHOD_NAMES = ("roipool", "roipool-floor", "roiwarp", "roialign", "roialign-legacy")  # roiloss.METHODS
PRESET_NAMES = ("torchvision", "detectron2", "mmdet", "maskrcnn-benchmark", "fast-rcnn", "mnc")  # roiloss.PRESETS
