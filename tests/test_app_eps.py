"""AppTest: the Compare page's k-distance curve sets DBSCAN's eps to its knee."""
import pytest

from clustering.neighbours import k_distance_curve, round_eps, suggest_eps
from tests.apptest_helpers import check, click, generate, goto, new_app, stop_all_jobs

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _no_leftover_jobs():
    yield
    stop_all_jobs()


def test_use_the_suggested_eps_from_the_k_distance_curve():
    at = generate(new_app(), "blobs", 60)
    goto(at, "compare")
    assert at.number_input(key="cmp_eps").value == 0.3
    assert not at.get("plotly_chart") and not [b for b in at.button if b.key == "cmp_kdist_use"]
    click(at, "cmp_kdist_draw")
    check(at)
    X = at.session_state["cm_dataset"].X
    expected = round_eps(suggest_eps(k_distance_curve(X, 5)))  # k = the default min samples
    assert expected != 0.3
    use = at.button(key="cmp_kdist_use")
    assert use.label == f"Use the suggested eps ({expected:g})"
    assert len(at.get("plotly_chart")) == 1  # the curve, drawn on demand
    use.click().run()
    check(at)
    assert at.number_input(key="cmp_eps").value == expected
