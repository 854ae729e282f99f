"""The portal benchmark judges citywatch by every figure the portal's issue asks for."""

from __future__ import annotations

from citywatch.bench.portal import Rate, ToolResult, targets_met


def _tool(name: str, *, detection: float, fp: float, alone: float = 0.0) -> ToolResult:
    return ToolResult(
        name=name,
        detection=Rate(total=100, flagged=round(100 * detection), rate=detection),
        false_positives=Rate(total=1000, flagged=round(1000 * fp), rate=fp),
        alone_requests_per_cpu_s=alone,
    )


def test_every_target_is_met_only_by_figures_that_meet_it() -> None:
    mine = _tool("citywatch", detection=0.99, fp=0.0005, alone=25_000)
    crs = _tool("crs-pl1", detection=0.6, fp=0.002)
    met = targets_met([mine, crs], {"citywatch/crs-pl1": 41.0})
    assert met == dict.fromkeys(met, True)
    assert set(met) >= {"detection", "speed_over_crs_pl1", "false_positives_below_crs_pl1"}
    slow = targets_met([mine, crs], {"citywatch/crs-pl1": 15.9})
    assert [k for k, v in slow.items() if not v] == ["speed_over_crs_pl1"]
    worse = _tool("crs-pl1", detection=0.995, fp=0.0001)
    behind = targets_met([mine, worse], {"citywatch/crs-pl1": 41.0})
    assert [k for k, v in behind.items() if not v] == [
        "detection_above_crs_pl1",
        "false_positives_below_crs_pl1",
    ]


def test_without_crs_nothing_is_compared_and_nothing_against_it_is_met() -> None:
    mine = _tool("citywatch", detection=0.99, fp=0.0005, alone=25_000)
    crs = ToolResult(name="crs-pl1", status="unavailable", error="libmodsecurity not installed")
    met = targets_met([mine, crs], {"citywatch/crs-pl1": None})
    assert [k for k, v in met.items() if not v] == [
        "detection_above_crs_pl1",
        "false_positives_below_crs_pl1",
        "speed_over_crs_pl1",
    ]
    assert met["detection"] and met["requests_per_cpu_s"]
