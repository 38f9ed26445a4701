"""The benchmark's table says whether the cold and warm goals can hold together on the machine it ran on."""

from bench.perf_table import table

FIGURES = {"accounts": 1000, "cold": {"wall_s": 14.5}, "bare": {"wall_s": 3.2, "requests": 3451},
           "warm": {"wall_s": 4.9, "requests": 2367, "minimum_requests": 2270}}


def _row(text: str, goal: str) -> list[str]:
    [line] = [line for line in text.splitlines() if line.startswith(f"| {goal}")]
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_the_warm_runs_own_bare_download_is_set_against_what_both_goals_leave_it():
    slow = table({**FIGURES, "warm_bare": {"wall_s": 1.44, "requests": 2367}})
    # a cold run at 1.5 × 3.2 s leaves a warm run 15 % of 4.8 s: 0.72 s; its GETs alone take twice that
    assert _row(slow, "warm goal at the cold goal") == [
        "warm goal at the cold goal: 15 % × 1.5 × bare cold download",
        "0.72 s allowed; bare download of the warm run's 2367 GETs 1.44 s (the warm run 4.9 s)", "2.00×",
        "≤ 1× (else no run meets both here)"]
    fast = table({**FIGURES, "warm_bare": {"wall_s": 0.36, "requests": 2367}})
    assert _row(fast, "warm goal at the cold goal")[2] == "0.50×"
    assert "warm goal at the cold goal" not in table(FIGURES)  # no bare download of the warm run: no row
