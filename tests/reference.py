"""ONNX Runtime as the independent reference implementation (SPEC §5).

Each operator is applied to a one-hot feature map: channel ``k = i*W + j`` is 1 at cell (i, j), so
the output of channel k in bin (p, q) is exactly the coefficient of cell (i, j) in that bin.
"""

from functools import lru_cache

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper


def _session(node, inputs, dtype):
    out = helper.make_tensor_value_info("Y", dtype, None)
    graph = helper.make_graph([node], "reference", inputs, [out])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 16)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


@lru_cache(maxsize=None)
def _roi_align(rows, cols, ratio, stride, mode, elem=TensorProto.DOUBLE):
    node = helper.make_node("RoiAlign", ["X", "rois", "batch"], ["Y"], mode="avg", output_height=rows,
                            output_width=cols, sampling_ratio=ratio, spatial_scale=1.0 / stride,
                            coordinate_transformation_mode=mode)
    inputs = [helper.make_tensor_value_info("X", elem, None),
              helper.make_tensor_value_info("rois", elem, None),
              helper.make_tensor_value_info("batch", TensorProto.INT64, None)]
    return _session(node, inputs, elem)


@lru_cache(maxsize=None)
def _max_roi_pool(rows, cols, stride):
    node = helper.make_node("MaxRoiPool", ["X", "rois"], ["Y"], pooled_shape=[rows, cols], spatial_scale=1.0 / stride)
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, None),
              helper.make_tensor_value_info("rois", TensorProto.FLOAT, None)]
    return _session(node, inputs, TensorProto.FLOAT)


def one_hot(height, width, dtype):
    return np.eye(height * width, dtype=dtype).reshape(1, height * width, height, width)


def roi_align(boxes, map_h, map_w, pool, ratio, stride, aligned, dtype=np.float64):
    """Coefficients ``(boxes, rows, cols, map_h, map_w)`` from ONNX RoiAlign (avg).

    ``dtype`` float64 (default) or float32: X and rois in that type, so the kernel's arithmetic
    (``x * spatial_scale``, bin sizes, sample positions, validity tests) runs in it. ``spatial_scale``
    is a float attribute: ``float32(1/stride)`` in both.
    """
    dtype = np.dtype(dtype)
    elem = {np.dtype(np.float64): TensorProto.DOUBLE, np.dtype(np.float32): TensorProto.FLOAT}[dtype]
    mode = "half_pixel" if aligned else "output_half_pixel"
    session = _roi_align(pool[0], pool[1], ratio, float(stride), mode, elem)
    rois = np.asarray(boxes, dtype=dtype).reshape(-1, 4)
    y = session.run(None, {"X": one_hot(map_h, map_w, dtype), "rois": rois,
                           "batch": np.zeros(len(rois), dtype=np.int64)})[0]
    return y.reshape(len(rois), map_h, map_w, pool[0], pool[1]).transpose(0, 3, 4, 1, 2)


def roi_align32(boxes, map_h, map_w, pool, ratio, stride, aligned):
    """:func:`roi_align` with float32 X and rois: the frameworks' float32 kernel."""
    return roi_align(boxes, map_h, map_w, pool, ratio, stride, aligned, dtype=np.float32)


def max_roi_pool(boxes, map_h, map_w, pool, stride):
    """Windows ``(boxes, rows, cols, map_h, map_w)`` as booleans from ONNX MaxRoiPool (float32)."""
    session = _max_roi_pool(pool[0], pool[1], float(stride))
    rois = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    rois = np.concatenate([np.zeros((len(rois), 1), np.float32), rois], axis=1)
    y = session.run(None, {"X": one_hot(map_h, map_w, np.float32), "rois": rois})[0]
    return y.reshape(len(rois), map_h, map_w, pool[0], pool[1]).transpose(0, 3, 4, 1, 2) > 0.5


def roi_align_map(features, boxes, pool, ratio, stride, aligned):
    """ORT float32 RoiAlign (avg) of an arbitrary ``(1, C, H, W)`` feature map: ``(boxes, C, rows, cols)``."""
    mode = "half_pixel" if aligned else "output_half_pixel"
    session = _roi_align(pool[0], pool[1], ratio, float(stride), mode, TensorProto.FLOAT)
    rois = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    return session.run(None, {"X": np.asarray(features, np.float32), "rois": rois,
                              "batch": np.zeros(len(rois), dtype=np.int64)})[0]
