"""Render results as markdown and self-contained HTML with embedded plots; computes no metric."""
