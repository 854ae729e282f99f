"""The published relations, against their published check values."""

from __future__ import annotations

import pytest

from citywatch.detect.quake.relations import (
    cdi,
    cws,
    ipe,
    magnitude_from_mmi,
    mean_answers,
    mmi_from_pga,
    pga_from_mmi,
)


@pytest.mark.parametrize(
    ("answers", "expected_cws", "expected_cdi"),
    [
        ({"felt": 1}, 5.0, 2.0),  # DYFI check: felt only -> CWS 5 -> CDI 2.0 (raised to 2)
        ({"felt": 1, "motion": 2, "reaction": 1}, 8.0, 2.7),  # DYFI check: CWS 8 -> CDI 2.7
        ({"felt": 0}, 0.0, 1.0),  # CWS <= 0 -> 1
        ({}, 0.0, 1.0),
    ],
)
def test_cdi_matches_dyfi_check_values(
    answers: dict[str, float], expected_cws: float, expected_cdi: float
) -> None:
    assert cws(answers) == expected_cws
    assert cdi(answers) == expected_cdi


def test_cdi_formula_weights_and_rounding() -> None:
    answers = {
        "felt": 1,
        "motion": 3,
        "reaction": 2,
        "stand": 1,
        "shelf": 1,
        "picture": 1,
        "furniture": 1,
        "damage": 0.5,
    }
    # 5 + 3 + 2 + 2 + 5 + 2 + 3 + 2.5 = 24.5; 3.3996 ln 24.5 - 4.3781 = 6.4967...
    assert cws(answers) == 24.5
    assert cdi(answers) == 6.5


def test_not_felt_is_not_raised_to_two() -> None:
    # CWS 3 without feeling: 3.3996 ln 3 - 4.3781 < 1 -> 1.0, not 2
    assert cdi({"felt": 0, "motion": 1, "reaction": 2}) == 1.0


def test_absent_answers_are_not_zero_when_averaging() -> None:
    reports = [{"felt": 1, "shelf": 2}, {"felt": 1, "shelf": None}, {"felt": 1}]
    assert mean_answers(reports) == {"felt": 1.0, "shelf": 2.0}


@pytest.mark.parametrize(("m", "r", "expected"), [(5, 10, 5.764), (6, 50, 5.903), (7, 100, 6.617)])
def test_atkinson_wald_2007_check_values(m: float, r: float, expected: float) -> None:
    assert ipe(m, r) == pytest.approx(expected, abs=5e-4)


@pytest.mark.parametrize(("pga", "expected"), [(100, 5.80), (300, 7.57)])
def test_worden_2012_check_values(pga: float, expected: float) -> None:
    assert mmi_from_pga(pga) == pytest.approx(expected, abs=5e-3)
    assert pga_from_mmi(mmi_from_pga(pga)) == pytest.approx(pga)


@pytest.mark.parametrize(("m", "r"), [(4.5, 5.0), (5.0, 40.0), (6.2, 120.0), (3.0, 15.0)])
def test_magnitude_inverts_the_ipe(m: float, r: float) -> None:
    assert magnitude_from_mmi(ipe(m, r), r) == pytest.approx(m, abs=1e-9)
