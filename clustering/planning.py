"""What a fit will do, decided before it starts: the plan every estimator's ``plan(X)`` returns.

The app, the comparison and the CLI call ``estimator.plan(X)`` before a job starts (principle 3:
every limit is checked before the work starts); it checks the parameters and the data, estimates
the job's peak memory, refuses what is over a limit (a :class:`~clustering.errors.ClusteringError`
naming the limit and its setting) and returns a :class:`Plan`. Nothing is trained and nothing is
left on the estimator.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Plan:
    """How a fit will run.

    Attributes
    ----------
    execution : str
        The way it runs, in a word the estimator defines ("dense", "chunked", "local", ...).
    reason : str
        One sentence saying why (the app shows it).
    bytes : int
        Estimated peak memory of the fit.
    limit : int
        The memory limit it was checked against.
    details : dict
        Estimator-specific figures (lattice size, solver estimates, chunk size, ...).
    """

    execution: str
    reason: str
    bytes: int
    limit: int
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)
