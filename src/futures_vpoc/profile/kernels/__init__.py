"""Fast numba kernels of the profile definition (the package docstring states it).

Why numba: the developing profile is a running histogram, updated bar by bar in time order, with
the VPOC kept up to date as each level grows, and naked VPOCs are a set that each bar may erase;
those recursions have no vectorised numpy form, and a pandas group-by rebuilds every level for
every bar. A compiled sequential loop does the whole history in one pass. The finished profiles
use the same allocation and value-area code, so the two can never disagree.
:mod:`futures_vpoc.profile.reference` holds plain loops of the same definition; the tests prove
both equal. Every kernel is sequential (one core, no ``prange``).

Modules, one idea each:

- :mod:`~.allocation`: the allocation codes and rules, and the span of levels each session can touch.
- :mod:`~.vpoc_area`: the VPOC pick and the value-area expansion walk of one histogram.
- :mod:`~.finished`: every session's finished histogram, VPOC and value area.
- :mod:`~.developing`: the developing VPOC, VAL and VAH of every bar, updated incrementally.
- :mod:`~.prior`: the previous completed session and the nearest naked VPOCs at every bar.

Stale-cache caveat: numba's on-disk cache (``cache=True``) checks only the source file of the
function it compiled, and a compiled kernel holds its own copy of every kernel it calls or
inlines, also those from another file (e.g. :func:`split_volume` inside
:func:`finished_profiles`). So after an edit to one module, a kernel of another module can keep a
stale copy from the cache: delete this package's ``__pycache__/*.nbi`` and ``*.nbc`` files (or
touch the calling modules) after editing a kernel. (The kernels were one file to rule this out.)

Level indices inside a kernel are relative to the session's lowest level (``base``); a
level-holding output of ``-1`` (or NaN) means "no volume yet".

Speed notes (issue 20). Numba counts references of every array handed to another jitted
function (an atomic increment and decrement per array per call, also for ``inline="always"``
helpers whose control flow its pruning pass cannot follow); in a per-bar loop those cost more
than the work. So the per-bar helpers that only read and write arrays they are given are compiled
with ``_nrt=False`` (numba's flag for "no reference counting"; they never allocate), as is the
per-session loop of the developing kernel, and the hot ones are inlined into it. Where a choice
per level or per walk step is close to a coin flip, it is made by arithmetic (a table look-up, a
sign bit), not by a branch that would be mispredicted.
"""

from futures_vpoc.profile.kernels.allocation import (CLOSE, TPO, UNIFORM, close_rank, session_spans, split_volume,
                                                     uniform_amount, uniform_runs)
from futures_vpoc.profile.kernels.developing import developing_profiles
from futures_vpoc.profile.kernels.finished import finished_profiles, profile_stats
from futures_vpoc.profile.kernels.prior import prior_levels
from futures_vpoc.profile.kernels.vpoc_area import pick_vpoc, value_area, walk

__all__ = ["CLOSE", "TPO", "UNIFORM", "close_rank", "developing_profiles", "finished_profiles", "pick_vpoc",
           "prior_levels", "profile_stats", "session_spans", "split_volume", "uniform_amount", "uniform_runs",
           "value_area", "walk"]
