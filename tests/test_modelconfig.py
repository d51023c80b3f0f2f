"""The model's own config (docs/semantics.md §11): each fixture config gives exactly what the
equivalent preset plus overrides gives; bad configs exit 2 naming the file and the key; nothing in a
``.py`` config is executed; ``explain-config``; the command line equals the library."""

import json
from pathlib import Path

import pandas as pd
import pytest

import roiloss
from roiloss.errors import InputError
from roiloss.modelconfig import model_preset, read_model_config
from roiloss.modelconfig_python import parse_python_config

from conftest import VAL, flat, invoke, parse_output

CONFIGS = Path(__file__).parent / "data" / "configs"
D2_CHILD = CONFIGS / "detectron2" / "COCO-InstanceSegmentation" / "mask_rcnn_R_50_FPN_sr2_640.yaml"
D2_C4 = CONFIGS / "detectron2" / "faster_rcnn_R_50_C4_roipool.yaml"
D2_WARN = CONFIGS / "detectron2" / "mask_rcnn_custom_pooler_key.yaml"
MRB = CONFIGS / "maskrcnn_benchmark" / "e2e_mask_rcnn_R_50_FPN_1x.yaml"
MM_JSON = CONFIGS / "mmdet" / "mask-rcnn_r50_fpn_1x_coco_dumped.json"
MM_YAML = CONFIGS / "mmdet" / "faster-rcnn_r50_fpn_1x_coco_dumped.yaml"
MM_PY = CONFIGS / "mmdet" / "mask-rcnn_r50_fpn_sr2_640.py"
BAD = CONFIGS / "bad"

# (config option, head) -> the same semantics as a preset plus overrides
EQUIVALENT = {
    "d2-child-box": (["--model-config", D2_CHILD], ["--preset", "detectron2", "--sampling-ratio", "2", "--min-size", "640"]),
    "d2-child-mask": (["--model-config", D2_CHILD, "--head", "mask"],
                      ["--preset", "detectron2", "--head", "mask", "--min-size", "640"]),
    "d2-c4-roipool": (["--model-config", D2_C4], ["--preset", "detectron2", "--methods", "roipool", "--stride", "16",
                                                 "--pool", "14", "--min-size", "600", "--max-size", "1000",
                                                 "--pad-divisor", "0"]),
    "maskrcnn-benchmark-box": (["--model-config", MRB], ["--preset", "maskrcnn-benchmark"]),
    "maskrcnn-benchmark-mask": (["--model-config", MRB, "--head", "mask"], ["--preset", "maskrcnn-benchmark", "--head", "mask"]),
    "mmdet-json-box": (["--model-config", MM_JSON], ["--preset", "mmdet"]),
    "mmdet-json-mask": (["--model-config", MM_JSON, "--head", "mask"], ["--preset", "mmdet", "--head", "mask"]),
    "mmdet-yaml-2x": (["--model-config", MM_YAML], ["--preset", "mmdet"]),
    "mmdet-py-box": (["--model-config", MM_PY], ["--preset", "mmdet", "--sampling-ratio", "2", "--min-size", "640",
                                                 "--canonical-scale", "448"]),
    "mmdet-py-mask": (["--model-config", MM_PY, "--head", "mask"], ["--preset", "mmdet", "--head", "mask", "--min-size", "640"]),
    "torchvision-mask-640": (["--model", "torchvision:maskrcnn_resnet50_fpn,min_size=640", "--head", "mask"],
                             ["--preset", "torchvision", "--head", "mask", "--min-size", "640"]),
    "torchvision-mobilenet-320": (["--model", "torchvision:fasterrcnn_mobilenet_v3_large_320_fpn"],
                                  ["--preset", "torchvision", "--levels", "5-5", "--min-size", "320", "--max-size", "640"]),
    "torchvision-v2": (["--model", "torchvision:fasterrcnn_resnet50_fpn_v2"], ["--preset", "torchvision"]),
    "explicit-wins": (["--model-config", D2_CHILD, "--sampling-ratio", "3", "--pool", "5", "--min-size", "700"],
                      ["--preset", "detectron2", "--sampling-ratio", "3", "--pool", "5", "--min-size", "700"]),
}


def rows(*args, fmt="csv"):
    result = invoke("analyze", VAL, *args, "--format", fmt)
    assert result.exit_code == 0, result.stderr
    return parse_output(result.stdout, fmt)


@pytest.mark.parametrize("case", sorted(EQUIVALENT))
def test_config_gives_what_the_equivalent_preset_gives(case):
    config_args, preset_args = EQUIVALENT[case]
    from_config, from_preset = rows(*config_args), rows(*preset_args)
    assert "preset" not in from_config.columns and "preset" in from_preset.columns
    pd.testing.assert_frame_equal(from_config, from_preset.drop(columns="preset"), check_exact=True)


@pytest.mark.parametrize("case", ["d2-child-box", "mmdet-py-box", "torchvision-mobilenet-320"])
def test_cli_equals_library(case):
    config_args, _ = EQUIVALENT[case]
    cli = rows(*config_args, fmt="json")
    spec = str(config_args[1])
    library = roiloss.analyze(roiloss.read_boxes(VAL), model_config=spec,
                              head="mask" if "--head" in config_args else "box")
    assert len(cli) == len(library) > 0
    for column in ("lost_frac", "gained_frac", "outside_weight", "shift_px"):
        assert cli[column].astype(float).round(12).equals(library[column].astype(float).round(12))
    assert list(cli.columns) == list(library.columns)


def test_resolved_line_names_the_config_and_what_came_from_it():
    result = invoke("analyze", VAL, "--model-config", D2_CHILD, "--rows", "0", env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.stderr
    text = flat(result.stdout)
    assert f"model config {D2_CHILD} (detectron2, box head; from it: pool, sampling ratio, levels, min size" in text
    assert "sampling ratio 2" in text and "resize detectron2 short 640 max 1333, pad to /32" in text
    explicit = resolved = roiloss.resolve(model_config=D2_CHILD, sampling_ratio=4)
    assert "sampling ratio" not in resolved.config.from_file and explicit.geometry.sampling_ratio == 4
    assert resolved.to_dict()["model_config"] == str(D2_CHILD)


def test_library_values():
    c = read_model_config(D2_C4)
    assert (c.framework, list(c.heads)) == ("detectron2", ["box"])
    assert c.head("box").method == "roipool" and c.head("box").stride == 16.0 and c.head("box").pyramid is None
    m = read_model_config(MM_PY)
    assert m.head("box").pyramid.canonical_scale == 448 and m.head("mask").pyramid.canonical_scale == 224
    assert m.files[0] == str(MM_PY) and len(m.files) == 3
    mrb = read_model_config(MRB)
    assert mrb.framework == "maskrcnn-benchmark" and mrb.head("mask").method == "roialign-legacy"
    tv = model_preset("torchvision:keypointrcnn_resnet50_fpn,max_size=1000")
    assert tv.resize.short == (800,) and tv.resize.max_size == 1000 and list(tv.heads) == ["box"]
    aligned_false = read_model_config(MM_JSON)  # aligned=False -> the legacy RoI Align
    layer = json.loads(MM_JSON.read_text())["model"]["roi_head"]["bbox_roi_extractor"]["roi_layer"]
    assert "aligned" not in layer and aligned_false.head("box").method == "roialign"


def test_mmdet_aligned_false_and_roipool(tmp_path):
    doc = json.loads(MM_JSON.read_text())
    doc["model"]["roi_head"]["bbox_roi_extractor"]["roi_layer"]["aligned"] = False
    doc["model"]["roi_head"]["mask_roi_extractor"]["roi_layer"] = {"type": "RoIPool", "output_size": [14, 7]}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    c = read_model_config(path)
    assert c.head("box").method == "roialign-legacy"
    assert c.head("mask").method == "roipool" and c.head("mask").pool == (14, 7)


@pytest.mark.parametrize("path,names", [
    (BAD / "d2_cycle_a.yaml", ["d2_cycle_a.yaml", "d2_cycle_b.yaml", "cycle"]),
    (BAD / "d2_unknown_pooler.yaml", ["d2_unknown_pooler.yaml", "MODEL.ROI_BOX_HEAD.POOLER_TYPE", "ROIAlignV3"]),
    (BAD / "d2_missing_base.yaml", ["d2_missing_base.yaml", "_BASE_", "Base-RCNN-FPN-v9.yaml"]),
    (BAD / "mmdet_unknown_roi_layer.json", ["mmdet_unknown_roi_layer.json",
                                            "model.roi_head.bbox_roi_extractor.roi_layer.type", "PrRoIPool"]),
    (BAD / "mmdet_base_reference.py", ["mmdet_base_reference.py", "line 4", "model", "mim run mmdet print_config"]),
    (BAD / "mmdet_writes_file.py", ["mmdet_writes_file.py", "line 3", "marker", "mim run mmdet print_config"]),
    (BAD / "no_such_config.yaml", ["no_such_config.yaml"]),
])
def test_bad_configs_exit_2_naming_file_and_key(path, names):
    for command in (["analyze", VAL, "--model-config", path], ["explain-config", path]):
        result = invoke(*command)
        assert result.exit_code == 2, result.stdout
        message = flat(result.stderr)
        assert message.startswith("roiloss: error:") and all(n in message for n in names), message
    with pytest.raises(InputError):
        read_model_config(path)


def test_nothing_in_a_python_config_is_executed(tmp_path):
    marker = tmp_path / "ROILOSS_EXECUTED.txt"
    result = invoke("analyze", VAL, "--model-config", BAD / "mmdet_writes_file.py", cwd=tmp_path)
    assert result.exit_code == 2
    with pytest.raises(InputError):
        parse_python_config((BAD / "mmdet_writes_file.py").read_text(), "x.py")
    for source in ("import os", "x = __import__('os').system('touch pwned')", "x = [i for i in range(3)]",
                   "x = 'a' * 10**9", "x = (lambda: 1)()", "x = {{_base_.model}}", "if True:\n    x = 1"):
        with pytest.raises(InputError, match="x.py: line"):
            parse_python_config(source, "x.py")
    assert not marker.exists() and not (tmp_path / "pwned").exists()


def test_python_literals_that_are_allowed():
    source = ("root = 'data/'\nnorm = dict(mean=[1, 2], std=[3, 4])\n"
              "step = dict(type='Normalize', **norm)\nann = root + 'a.json'\nf = f'{root}b'\nscale = -(1.0 / 16)\n"
              "pair = tuple([7, 7])\nlst = [*pair, 8]\n")
    names = parse_python_config(source, "ok.py")
    assert names["step"] == {"type": "Normalize", "mean": [1, 2], "std": [3, 4]}
    assert names["ann"] == "data/a.json" and names["f"] == "data/b" and names["scale"] == -0.0625
    assert names["pair"] == (7, 7) and names["lst"] == [7, 7, 8]


def test_unknown_pooling_keys_are_reported():
    c = read_model_config(D2_WARN)
    assert any("MODEL.ROI_BOX_HEAD.POOLER_CANONICAL_BOX_SIZE" in w for w in c.warnings)
    result = invoke("analyze", VAL, "--model-config", D2_WARN, "--rows", "0")
    assert result.exit_code == 0
    assert "roiloss: warning:" in result.stderr and "POOLER_CANONICAL_BOX_SIZE" in result.stderr


def test_usage_errors():
    for args, text in [(["--model-config", D2_C4, "--preset", "mmdet"], "not both"),
                       (["--model-config", D2_C4, "--model", "torchvision:maskrcnn_resnet50_fpn"], "not both"),
                       (["--model-config", D2_C4, "--head", "mask"], "no mask head"),
                       (["--model", "torchvision:retinanet_resnet50_fpn"], "unknown torchvision model"),
                       (["--model", "torchvision:maskrcnn_resnet50_fpn,min_size=big"], "min_size"),
                       (["--model", "maskrcnn_resnet50_fpn"], "torchvision:NAME")]:
        result = invoke("analyze", VAL, *args)
        assert result.exit_code == 2 and text in flat(result.stderr), result.stderr
    with pytest.raises(ValueError, match="not both"):
        roiloss.resolve(preset="mmdet", model_config=MM_JSON)
    with pytest.raises(ValueError, match="not both"):
        roiloss.analyze([(0, 0, 10, 10)], semantics=roiloss.resolve(), model_config=MM_JSON, image_size=(64, 64))


def test_explain_config_table_and_machine_formats():
    result = invoke("explain-config", MM_PY, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines() if not line.startswith("[")) <= 80
    result = invoke("explain-config", MM_PY, env={"COLUMNS": "200"})
    text = flat(result.stdout)
    assert "box sampling ratio 2 model.roi_head.bbox_roi_extractor.roi_layer.sampling_ratio = 2 [1]" in text
    assert "mask canonical scale 224 px at level 4 (finest_scale 56 at P2) default:" in text
    assert "box head: model config" in text and "mask head: model config" in text
    for fmt in ("csv", "json"):
        result = invoke("explain-config", D2_CHILD, "--format", fmt)
        assert result.exit_code == 0
        frame = parse_output(result.stdout, fmt)
        library = read_model_config(D2_CHILD).explain_frame()
        assert list(frame.columns) == list(library.columns) and len(frame) == len(library)
        row = frame[(frame["head"] == "box") & (frame["setting"] == "sampling_ratio")].iloc[0]
        assert row["key"] == "MODEL.ROI_BOX_HEAD.POOLER_SAMPLING_RATIO" and str(row["file"]) == str(D2_CHILD)
        assert not bool(row["default"])
    result = invoke("explain-config", "torchvision:maskrcnn_resnet50_fpn", "--format", "csv")
    assert result.exit_code == 0 and "mask_rcnn.py (ac33f9e3)" in result.stdout
