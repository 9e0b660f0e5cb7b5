"""The CLI's numeric options are checked as they are parsed: a wrong one is a usage error naming the option and
what it takes, before any model is loaded (``--beta -1`` ended in a traceback after the whole run, and
``--threshold 1.5``, ``--tile 0`` or ``--beta nan`` were taken and written into metrics.json)."""

from __future__ import annotations

import pytest

from cvlens.cli import build_analyze_parser, build_evaluate_parser


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--beta", "-1", "beta is a number of at least 0"),
        ("--beta", "nan", "beta is a number of at least 0"),
        ("--beta", "abc", "not 'abc'"),
        ("--threshold", "1.5", "between 0 and 1"),
        ("--threshold", "inf", "between 0 and 1"),
        ("--iou-threshold", "0", "above 0 and at most 1"),
        ("--iou-threshold", "1.01", "above 0 and at most 1"),
        ("--tile", "0", "at least 32"),
        ("--tile", "12.5", "whole number"),
        ("--workers", "-3", "0 or more"),
        ("--batch-size", "abc", "positive whole number or 'auto'"),
        ("--batch-size", "0", "positive whole number or 'auto'"),
    ],
)
def test_a_wrong_number_is_a_usage_error_that_says_what_the_option_takes(capsys, option, value, says):
    with pytest.raises(SystemExit) as exit_:
        build_evaluate_parser().parse_args(["data", option, value])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {option}: " in error and says in error and "Traceback" not in error
    assert "_batch_size" not in error and "invalid" not in error  # argparse's own words named our functions


def test_good_numbers_are_taken_as_typed():
    args = build_evaluate_parser().parse_args(
        ["data", "--beta", "0", "--threshold", "0,25", "--iou-threshold", "1", "--tile", "32", "--workers", "0"]
    )
    assert (args.beta, args.threshold, args.iou_threshold, args.tile, args.workers) == (0.0, 0.25, 1.0, 32, 0)
    assert build_evaluate_parser().parse_args(["data", "--batch-size", "auto"]).batch_size == "auto"
    assert build_analyze_parser().parse_args(["data", "--batch-size", "8", "--workers", "2"]).workers == 2


@pytest.mark.parametrize("size", ["abc", "0x0", "800x-5", "100000x100000", "1366"])
def test_a_screenshot_size_out_of_reach_is_a_usage_error(capsys, size):
    from cvlens.cli import build_parser

    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["data", "--screenshot", "x.png", "--size", size])
    assert exit_.value.code == 2 and "argument --size: the size is WIDTHxHEIGHT" in capsys.readouterr().err


def test_a_screenshot_size_is_taken_with_either_x():
    from cvlens.cli import build_parser

    assert build_parser().parse_args(["--size", "1366×768"]).size == "1366x768"
    assert build_parser().parse_args(["--size", "1920X1080"]).size == "1920x1080"
