"""Progress of a run of restarts: the bar's fraction counts restarts, and an early-stopped
restart counts as complete."""
import pytest

from clustering.progress import Progress, restart_fraction


def _restart_metrics(r, R, e, E, early=False):
    return {"loss": -1.0, "best_loss": -1.0, "restart": float(r), "n_restarts": float(R),
            "epoch": float(e), "max_epochs": float(E), "elapsed": 1.0,
            "early_stopped": float(early)}


def test_fraction_counts_restarts_and_epochs():
    # (restarts finished + e / E) / R
    assert restart_fraction(1, 5, 0, 5000) == 0.0
    assert restart_fraction(1, 5, 2500, 5000) == pytest.approx(0.1)
    assert restart_fraction(3, 5, 1000, 5000) == pytest.approx((2 + 0.2) / 5)
    assert restart_fraction(5, 5, 5000, 5000) == 1.0


def test_early_stop_jumps_the_restart_to_complete():
    # 60 of 5000 epochs is 1.2 % of the restart's share; stopping early makes it all of it
    assert restart_fraction(2, 5, 60, 5000) == pytest.approx((1 + 0.012) / 5)
    assert restart_fraction(2, 5, 60, 5000, early_stopped=True) == pytest.approx(2 / 5)
    assert restart_fraction(5, 5, 60, 5000, early_stopped=True) == 1.0


def test_fraction_never_decreases_over_a_simulated_run():
    # 3 restarts of at most 1000 epochs: the first stops early at 120, the second runs to the
    # end, the third stops early at 75; reports every 25 epochs and at each restart's end
    R, E = 3, 1000
    ends = [(120, True), (1000, False), (75, True)]
    seen = []
    step = 0
    for r, (last, early) in enumerate(ends, start=1):
        epochs = list(range(25, last, 25)) + [last]
        for e in epochs:
            stopped = early and e == last
            p = Progress("neural", step + e, R * E, _restart_metrics(r, R, e, E, stopped))
            seen.append(p.fraction)
        step += last
        assert seen[-1] == pytest.approx(r / R)  # each restart ends on its whole share
    assert all(b >= a for a, b in zip(seen, seen[1:]))
    assert seen[0] == pytest.approx(25 / 3000) and seen[-1] == 1.0
    # the old count of epochs against the most epochs: 1195 of 3000 at the end
    assert step / (R * E) == pytest.approx(0.398, abs=1e-3)


def test_other_estimators_keep_the_step_fraction():
    # no restart metrics (the SOM's steps, the ensemble's maps): step / total
    assert Progress("som", 30, 120, {"quantization_error": 0.5}).fraction == 0.25
    assert Progress("qbm", 3, 3, {}).fraction == 1.0
    assert Progress("demo", 1, 0).fraction == 1.0
