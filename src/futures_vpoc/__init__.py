"""futures-vpoc: ES futures + VIX research system.

Layers (DESIGN.md section 1): ``config``/``errors`` < ``calendar`` < ``data`` < ``profile`` <
``features``/``labels`` < ``dataset`` < ``ml`` < ``diagnostics``/``backtest`` < ``report`` < ``cli``.
"""

__version__ = "0.1.0"
