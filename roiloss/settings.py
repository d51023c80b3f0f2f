"""The resolved settings of one run: geometry, methods, pyramid and preset, from the options.

A preset fills every setting the user did not give explicitly; the result knows how to analyse
(each box at its pyramid level's stride when there is a pyramid), how to list the grid, and how to
state the resolved semantics in one line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .api import analyze_pyramid, analyze_table
from .boxes import parse_size
from .engine import Geometry
from .grid import grid_table
from .methods import resolve_methods
from .pyramid import PRESETS, Pyramid, parse_levels, parse_strides, with_overrides
from .readers import parse_columns


class Settings:
    """The validated options of one run, with a preset's values filled in where no option was given."""

    def __init__(self, given, stride, pool, methods, sampling_ratio, sample_placement, image_size, **rest):
        """``given(name)`` tells whether an option was set explicitly (command line or config file);
        raises ``ValueError`` for a bad value."""
        self.rest = rest
        self.preset = PRESETS[rest["preset"]] if rest.get("preset") else None
        pyramid = None
        if self.preset:
            values = self.preset.settings(rest.get("head", "box"))
            methods = methods if given("methods") else values["methods"]
            sampling_ratio = sampling_ratio if given("sampling_ratio") else values["sampling_ratio"]
            pool = pool if given("pool") else values["pool"]
            if values["stride"] is not None and not given("stride"):
                stride = values["stride"]
            if values["pyramid"] is not None and not given("stride"):
                pyramid = values["pyramid"]
        levels = None
        if rest.get("strides"):
            levels = parse_strides(rest["strides"])
        if rest.get("pyramid_levels"):
            levels = parse_levels(rest["pyramid_levels"])
        if levels or rest.get("level_mapper") or pyramid:
            pyramid = with_overrides(pyramid or Pyramid(), levels=levels, mapper=rest.get("level_mapper"),
                                     canonical_scale=rest.get("canonical_scale"),
                                     canonical_level=rest.get("canonical_level"))
        self.pyramid = pyramid
        self.geometry = Geometry(stride=stride, pool=pool, sampling_ratio=sampling_ratio, placement=sample_placement)
        self.methods = resolve_methods(methods)
        self.image_size = parse_size(image_size) if image_size else None
        self.columns = parse_columns(rest.get("columns"))

    def analyse(self, table: pd.DataFrame, geometry: Geometry | None = None, methods=None) -> pd.DataFrame:
        """Rows of every box x method; with a pyramid or preset, columns saying which one."""
        geometry, methods = geometry or self.geometry, methods or self.methods
        if not self.pyramid:
            frame = analyze_table(table, geometry, methods)
        else:
            frame = analyze_pyramid(table, geometry, methods, self.pyramid)
            frame.insert(frame.columns.get_loc("sampling_ratio") + 1, "mapper", self.pyramid.mapper)
        if self.preset:
            frame.insert(frame.columns.get_loc("method"), "preset", self.preset.name)
        return frame

    def geometry_of(self, table: pd.DataFrame) -> Geometry:
        """The geometry of the first box: its pyramid level's stride when there is a pyramid."""
        if not self.pyramid:
            return self.geometry
        side = np.sqrt((table.x2.iat[0] - table.x1.iat[0]) * (table.y2.iat[0] - table.y1.iat[0]))
        level = int(self.pyramid.assign(np.array([side]))[0])
        return Geometry(2.0 ** level, self.geometry.pool, self.geometry.sampling_ratio, self.geometry.placement)

    def grid(self, table: pd.DataFrame, level: str) -> pd.DataFrame:
        """The sampling grid, each box on its own pyramid level's grid when there is a pyramid."""
        if not self.pyramid:
            return grid_table(table, self.geometry, self.methods, level)
        parts = []
        for i in range(len(table)):
            box = table.iloc[[i]].reset_index(drop=True)
            if box["invalid"].iat[0]:
                continue
            geometry = self.geometry_of(box)
            part = grid_table(box, geometry, self.methods, level)
            part.insert(2, "level", int(np.log2(geometry.stride)))
            part.insert(3, "stride", geometry.stride)
            parts.append(part)
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def semantics(self) -> dict:
        """The resolved settings beyond method/stride/pool/sampling, for machine reports."""
        extra = {"preset": self.preset.name if self.preset else None, "head": self.rest.get("head", "box")}
        if self.pyramid:
            extra.update(levels=list(self.pyramid.levels), strides=self.pyramid.strides, mapper=self.pyramid.mapper,
                         canonical_scale=self.pyramid.canonical_scale, canonical_level=self.pyramid.canonical_level)
        return {**extra, "summary": self.describe()}

    def describe(self) -> str:
        text = self.geometry.describe(self.methods)
        if self.pyramid:
            text = text.replace(f"stride {self.geometry.stride:g}", self.pyramid.describe())
        alignment = {"roialign": "aligned=True", "roialign-legacy": "aligned=False"}
        aligned = [alignment[m] for m in self.methods if m in alignment]
        if aligned:
            text += " | " + ",".join(aligned)
        if self.preset:
            text = f"preset {self.preset.name} ({self.rest.get('head', 'box')} head) | " + text
        return text
