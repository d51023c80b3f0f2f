"""The methods of :mod:`roiloss.methods_runtimes` and :mod:`roiloss.methods_tensorrt` with their
traits, as :class:`roiloss.methods.Method` arguments: ``(name, axis, kind, aligned, sampled,
summary, reproduces)`` (docs/semantics.md §2.10-§2.16)."""

from .methods_runtimes import crop_and_resize, crop_and_resize_matterport, prroipool, roialign_openvino, roipool_mmcv
from .methods_tensorrt import (
    roialign_tensorrt,
    trt_pyramid_align_corners,
    trt_pyramid_half_pixel,
    trt_pyramid_no_offset,
    trt_pyramid_output_half_pixel,
)

RUNTIME_METHODS = [
    ("crop-and-resize", crop_and_resize, "sample", None, False,
     "boxes normalised by the image (x/W); one bilinear sample per output, both edges sampled (align "
     "corners); 0 outside [0, M-1]",
     "TensorFlow tf.image.crop_and_resize as the TF Object Detection API calls it (Faster R-CNN crop, "
     "then max pool)"),
    ("crop-and-resize-mrcnn", crop_and_resize_matterport, "sample", None, False,
     "as crop-and-resize on boxes normalised as (x1/(W-1), (x2-1)/(W-1))",
     "Matterport Mask R-CNN PyramidROIAlign (tf.image.crop_and_resize on norm_boxes)"),
    ("prroipool", prroipool, "integral", False, False,
     "no rounding, no offset; exact integral of the bilinear surface over each bin / bin area; zero "
     "outside the map",
     "Precise RoI Pooling (IoU-Net, vacancy/PreciseRoIPooling), mmcv PrRoIPool"),
    ("roipool-mmcv", roipool_mmcv, "window", None, False,
     "no rounding; end + 1 px; bins floor/ceil of the continuous edges; max",
     "mmcv RoIPool (mmdetection RoIPool heads)"),
    ("roialign-openvino", roialign_openvino, "sample", True, True,
     "as roialign with (x + 0.5)*s - 0.5: half an input pixel, not half a cell",
     "OpenVINO ROIAlign-9 aligned_mode=half_pixel (its asymmetric mode = roialign-legacy, "
     "half_pixel_for_nn = roialign)"),
    ("roialign-tensorrt", roialign_tensorrt, "sample", True, True,
     "as roialign (float32 sample order b/g); a zero-size box with adaptive sampling outputs NaN",
     "TensorRT ROIAlign_TRT plugin (coordinate_transformation_mode=1, avg)"),
    ("trt-pyramid", trt_pyramid_half_pixel, "sample", True, True,
     "normalised box clamped to the image; n*M - 0.5; samples (k+0.5)/g clamped into the map",
     "TensorRT PyramidROIAlign_TRT roi_coords_transform=2 (NVIDIA's Detectron2 sample for ROIAlignV2)"),
    ("trt-pyramid-t1", trt_pyramid_output_half_pixel, "sample", False, True,
     "normalised box clamped to the image; n*M; samples (k+0.5)/g clamped into the map",
     "TensorRT PyramidROIAlign_TRT roi_coords_transform=1"),
    ("trt-pyramid-t0", trt_pyramid_no_offset, "sample", False, True,
     "normalised box clamped to the image; n*M; samples k/g (bin corners) clamped into the map",
     "TensorRT PyramidROIAlign_TRT roi_coords_transform=0 (NVIDIA's Detectron2 sample for ROIAlign)"),
    ("trt-pyramid-legacy", trt_pyramid_align_corners, "sample", None, True,
     "normalised box clamped to the image; n*(M-1), step/(P-1); samples clamped into the map",
     "TensorRT PyramidROIAlign_TRT roi_coords_transform=-1 (legacy UFF Mask R-CNN)"),
]
