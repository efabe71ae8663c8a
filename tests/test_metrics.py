"""Metrics against hand-computed values (the arithmetic is spelled out next to each expectation)."""

from __future__ import annotations

import pytest

from eval.ddxplus_summary import accuracy_curve, summarize, urgent_recall_at_k
from eval.metrics import (
    average_rank,
    differential_scores,
    exact,
    expected_calibration_error,
    gtpa_at_k,
    normalised_match,
)
from eval.schema import RunSummary
from tests.factories import make_case

# --- GTPA@k and average rank ---------------------------------------------------------------


def test_gtpa_counts_ranks_at_or_below_k() -> None:
    ranks = [1, 2, 5, 11]
    assert gtpa_at_k(ranks, 1) == 0.25
    assert gtpa_at_k(ranks, 3) == 0.5
    assert gtpa_at_k(ranks, 5) == 0.75  # rank 5 is inside the top 5
    assert gtpa_at_k(ranks, 10) == 0.75


def test_average_rank() -> None:
    assert average_rank([1, 2, 5, 11]) == pytest.approx(19 / 4)


def test_rank_metrics_on_no_cases_are_zero() -> None:
    assert gtpa_at_k([], 1) == 0.0
    assert average_rank([]) == 0.0


def test_rank_metrics_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="k must be"):
        gtpa_at_k([1], 0)
    with pytest.raises(ValueError, match="1-based"):
        average_rank([0, 1])


# --- DDR / DDP / DDF1 ----------------------------------------------------------------------

PREDICTED = [("A", 0.7), ("B", 0.2), ("E", 0.095), ("C", 0.005)]
REFERENCE = [("A", 0.4), ("B", 0.3), ("C", 0.2), ("D", 0.1)]


def test_differential_scores_threshold_drops_low_probability_predictions() -> None:
    # C (0.005) is under 0.01: predicted {A, B, E} vs reference {A, B, C, D}, overlap {A, B}.
    ddr, ddp, ddf1 = differential_scores(PREDICTED, REFERENCE)
    assert ddr == pytest.approx(2 / 4)
    assert ddp == pytest.approx(2 / 3)
    assert ddf1 == pytest.approx(2 * (1 / 2) * (2 / 3) / (1 / 2 + 2 / 3))  # = 4/7


def test_differential_scores_lower_threshold_keeps_the_fourth_prediction() -> None:
    # Predicted {A, B, E, C} vs {A, B, C, D}: overlap 3 of 4 on both sides.
    assert differential_scores(PREDICTED, REFERENCE, threshold=0.001) == pytest.approx(
        (0.75, 0.75, 0.75)
    )


def test_differential_scores_threshold_is_inclusive() -> None:
    assert differential_scores([("A", 0.01)], [("A", 1.0)]) == (1.0, 1.0, 1.0)


def test_differential_scores_no_overlap_or_empty_sides_give_zero() -> None:
    assert differential_scores([("X", 0.9)], [("A", 1.0)]) == (0.0, 0.0, 0.0)
    assert differential_scores([("A", 0.001)], [("A", 1.0)]) == (0.0, 0.0, 0.0)
    assert differential_scores([("A", 0.9)], []) == (0.0, 0.0, 0.0)


def test_differential_scores_matching_rule_is_a_parameter() -> None:
    predicted = [("possible nstemi/stemi", 0.6), ("Bronchite", 0.4)]
    reference = [("Possible NSTEMI / STEMI", 0.5), ("Pneumonie", 0.5)]
    assert differential_scores(predicted, reference) == (0.0, 0.0, 0.0)
    assert differential_scores(predicted, reference, match=normalised_match) == pytest.approx(
        (0.5, 0.5, 0.5)
    )


def test_one_predicted_name_matches_one_reference_name_at_most() -> None:
    # "Flu" and "flu" both normalise to the reference, but only one of them can be credited.
    ddr, ddp, _ = differential_scores(
        [("Flu", 0.5), ("flu", 0.5)], [("FLU", 1.0)], match=normalised_match
    )
    assert (ddr, ddp) == (1.0, 0.5)


def test_match_rules() -> None:
    assert exact("Flu", "Flu")
    assert not exact("Flu", "flu")
    assert normalised_match(" URTI ", "urti")
    assert normalised_match("Possible NSTEMI / STEMI", "possiblenstemistemi")
    assert not normalised_match("Pneumonia", "Pneumonie")


# --- ECE -----------------------------------------------------------------------------------


def test_ece_hand_worked_example() -> None:
    # Bins (width 0.1): 0.95 -> bin 9 (right), 0.85 -> bin 8 (wrong), 0.75 and 0.72 -> bin 7
    # (both right), 0.3 -> bin 3 (wrong).
    # ECE = (|1 - 0.95| + |0 - 0.85| + |2 - 1.47| + |0 - 0.3|) / 5 = 1.73 / 5.
    confidences = [0.95, 0.85, 0.75, 0.72, 0.3]
    correct = [True, False, True, True, False]
    assert expected_calibration_error(confidences, correct) == pytest.approx(0.346)


def test_ece_puts_confidence_one_in_the_last_bin() -> None:
    # Together in bin 9: |1 - 1.9| / 2 = 0.45 (a separate bin for 1.0 would give 0.55).
    assert expected_calibration_error([1.0, 0.9], [False, True]) == pytest.approx(0.45)


def test_ece_bin_edges_are_left_closed() -> None:
    # 0.3 belongs with 0.35 in [0.3, 0.4): |1 - 0.65| / 2 (bin [0.2, 0.3) would give 0.525).
    assert expected_calibration_error([0.3, 0.35], [True, False]) == pytest.approx(0.175)


def test_ece_of_a_calibrated_predictor_is_zero_and_single_bin_is_global_gap() -> None:
    assert expected_calibration_error([0.5, 0.5], [True, False]) == 0.0
    # One bin: |accuracy - mean confidence| = |1/3 - 0.6|.
    assert expected_calibration_error([0.9, 0.6, 0.3], [True, False, False], n_bins=1) == (
        pytest.approx(0.6 - 1 / 3)
    )


def test_ece_edge_cases() -> None:
    assert expected_calibration_error([], []) == 0.0
    with pytest.raises(ValueError, match="length"):
        expected_calibration_error([0.5], [])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        expected_calibration_error([1.5], [True])
    with pytest.raises(ValueError, match="n_bins"):
        expected_calibration_error([0.5], [True], n_bins=0)


# --- urgent recall -------------------------------------------------------------------------


def test_urgent_recall_only_looks_at_severity_one_and_two() -> None:
    cases = [
        make_case(severity=1, truth_rank=3),
        make_case(severity=2, truth_rank=7),
        make_case(severity=3, truth_rank=20),  # not urgent: ignored
        make_case(severity=5, truth_rank=1),
    ]
    assert urgent_recall_at_k(cases) == 0.5
    assert urgent_recall_at_k(cases, k=10) == 1.0


def test_urgent_recall_without_urgent_cases_is_none() -> None:
    assert urgent_recall_at_k([make_case(severity=4)]) is None
    assert urgent_recall_at_k([]) is None


# --- accuracy curve ------------------------------------------------------------------------


def test_accuracy_curve_keeps_last_snapshot_of_a_case_that_stopped_early() -> None:
    stopped = make_case("P", steps=[(0, "Q"), (2, "P")], questions=2)
    late = make_case("R", steps=[(0, "R"), (1, "S"), (3, "R")], questions=3)
    # q=0: Q wrong, R right; q=1: Q wrong, S wrong; q=2: P right, S wrong;
    # q=3 and q=4: P right (kept), R right.
    assert accuracy_curve([stopped, late], 4) == [0.5, 0.0, 0.5, 1.0, 1.0]


def test_accuracy_curve_orders_snapshots_and_counts_missing_ones_as_wrong() -> None:
    case = make_case("P", steps=[(3, "P"), (1, "X")])
    assert accuracy_curve([case], 3) == [0.0, 0.0, 0.0, 1.0]
    assert accuracy_curve([make_case("P", steps=[])], 1) == [0.0, 0.0]


def test_accuracy_curve_edge_cases() -> None:
    assert accuracy_curve([], 2) == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="max_questions"):
        accuracy_curve([], -1)


# --- summarize -----------------------------------------------------------------------------


def test_summarize_fills_every_metric() -> None:
    cases = [
        make_case(
            "A",
            1,
            severity=1,
            differential=[("A", 0.8), ("B", 0.2)],
            reference=[("A", 0.5), ("B", 0.5)],
            questions=4,
        ),
        make_case(
            "A",
            4,
            severity=3,
            differential=[("B", 0.6), ("C", 0.3), ("D", 0.05), ("A", 0.05)],
            reference=[("A", 0.5), ("E", 0.5)],
            questions=8,
        ),
        make_case("C", 12, severity=2, differential=[("X", 0.4)], questions=6),  # no reference
    ]
    s = summarize(cases, skipped=2, seconds=6.0, questions_budget=10, label="run-a")
    assert (s.n, s.skipped) == (3, 2)
    assert (s.gtpa_1, s.gtpa_3, s.gtpa_5, s.gtpa_10) == pytest.approx((1 / 3, 1 / 3, 2 / 3, 2 / 3))
    assert s.avg_rank == pytest.approx(17 / 3)
    # Scored cases: (1, 1, 1) and predicted {B, C, D, A} vs {A, E}: (1/2, 1/4, 1/3).
    assert s.ddr == pytest.approx((1 + 1 / 2) / 2)
    assert s.ddp == pytest.approx((1 + 1 / 4) / 2)
    assert s.ddf1 == pytest.approx((1 + 1 / 3) / 2)  # mean of per-case F1, not F1 of the means
    assert s.avg_questions == pytest.approx(6.0)
    # Top-1 confidences 0.8 (right, bin 8), 0.6 (wrong, bin 6), 0.4 (wrong, bin 4).
    assert s.ece == pytest.approx((0.2 + 0.6 + 0.4) / 3)
    assert s.urgent_recall_5 == 0.5  # severity 1 at rank 1, severity 2 at rank 12
    assert s.seconds == 6.0
    assert s.cases_per_second == 0.5
    assert (s.questions_budget, s.full_profile, s.label) == (10, None, "run-a")


def test_summarize_of_no_cases_does_not_crash() -> None:
    s = summarize([], skipped=3, seconds=0.0)
    assert s.n == 0
    assert s.skipped == 3
    assert s.gtpa_1 == s.avg_rank == s.ddf1 == s.ece == s.avg_questions == 0.0
    assert s.urgent_recall_5 is None
    assert s.cases_per_second is None


def test_summarize_output_uses_published_keys() -> None:
    dumped = summarize([make_case()], skipped=0, seconds=1.0).model_dump(by_alias=True)
    assert "gtpa@1" in dumped
    assert "urgent_recall@5" in dumped
    assert set(dumped) == {f.alias or name for name, f in RunSummary.model_fields.items()}


def test_summarize_rejects_unknown_extras() -> None:
    with pytest.raises(TypeError, match="colour"):
        summarize([], 0, 0.0, colour="red")  # type: ignore[call-arg]


# --- the differential list, the urgent banner and their trade-offs -------------------------


def test_the_differential_list_is_scored_as_a_set_without_threshold() -> None:
    from eval.ddxplus_summary import summarize

    reference = [("A", 0.6), ("B", 0.3), ("C", 0.1)]
    # A and B listed (weights are not probabilities: a low weight still counts), D wrong.
    listed = make_case("A", listed=[("A", 0.9), ("B", 0.01), ("D", 0.5)], reference=reference)
    unlisted = make_case("A", reference=reference)  # no list: left out of the list scores
    summary = summarize([listed, unlisted], skipped=0, seconds=1.0)
    assert summary.ddr_list == pytest.approx(2 / 3)
    assert summary.ddp_list == pytest.approx(2 / 3)
    assert summary.ddf1_list == pytest.approx(2 / 3)
    assert summary.list_size == pytest.approx(1.5)  # 3 and 0 conditions
    assert summarize([unlisted], skipped=0, seconds=1.0).ddf1_list is None


def test_urgent_banner_rate_and_recall() -> None:
    from eval.ddxplus_summary import urgent_banner_rates

    cases = [
        make_case("Flu", severity=4, urgent=["Pneumonia"]),  # a false alarm
        make_case("Flu", severity=4),
        make_case("Flu", severity=5),
        make_case("Flu", severity=3),
        make_case("Pneumonia", severity=2, urgent=["Pneumonia"]),  # flagged itself
        make_case("Embolism", severity=1, urgent=["Pneumonia"]),  # not itself: missed
    ]
    rate, recall = urgent_banner_rates(cases)
    assert rate == pytest.approx(1 / 4)
    assert recall == pytest.approx(1 / 2)
    assert urgent_banner_rates(cases[:1]) == (1.0, None)
    summary = summarize(cases, skipped=0, seconds=1.0)
    assert summary.urgent_banner_rate == pytest.approx(0.25)
    assert summary.urgent_banner_recall == pytest.approx(0.5)


def test_list_frontier_recomputes_the_list_at_each_threshold() -> None:
    from eval.ddxplus_tradeoffs import list_at, list_frontier, posterior_frontier

    case = make_case(
        "A",
        differential=[("A", 0.8), ("B", 0.15), ("C", 0.05)],
        reference=[("A", 0.5), ("B", 0.5)],
        list_weights=[("B", 0.9), ("C", 0.6), ("A", 0.3)],
    )
    assert list_at(case, 0.5) == ["B", "C", "A"]  # the posterior's leader always
    assert list_at(case, 0.95) == ["A"]
    low, high = list_frontier([case], thresholds=(0.5, 0.95))
    assert (low.size, low.ddr) == (3, 1.0)
    assert low.ddp == pytest.approx(2 / 3)
    assert (high.size, high.ddr, high.ddp) == (1, 0.5, 1.0)
    (strict,) = posterior_frontier([case], thresholds=(0.1,))
    assert (strict.size, strict.ddf1) == (2, 1.0)  # A and B pass 0.1


def test_urgent_tradeoff_per_threshold() -> None:
    from eval.ddxplus_tradeoffs import urgent_tradeoff

    severity = {"Flu": 4, "Pneumonia": 2}
    cases = [
        make_case("Flu", severity=4, differential=[("Flu", 0.97), ("Pneumonia", 0.03)]),
        make_case("Pneumonia", severity=2, differential=[("Pneumonia", 0.6), ("Flu", 0.4)]),
    ]
    loose, strict = urgent_tradeoff(cases, severity, (0.01, 0.05))
    assert (loose.banner_rate, loose.recall) == (1.0, 1.0)
    assert (strict.banner_rate, strict.recall) == (0.0, 1.0)
    assert strict.intake_banner_rate == 0.0  # no snapshot: the final differential stands in
