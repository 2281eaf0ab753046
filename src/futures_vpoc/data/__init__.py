"""Data layer: vendor loaders, validation, rolls, as-of VIX merge, synthetic and bundled data.

Everything here produces or consumes the BarFrame of DESIGN.md section 2 (see
:mod:`futures_vpoc.data.barframe`).
"""
