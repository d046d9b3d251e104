"""Optimization formulations, one file each, written like the maths.

Installed as ``planner.models`` (see pyproject's package-dir), never as a
top-level ``models`` package.
"""
