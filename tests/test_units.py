"""Units and amounts as users write them (truth: the arithmetic of the SI/scale prefixes)."""

import pytest

from model.core.units import UnknownUnit, parse_amount, parse_unit


@pytest.mark.parametrize(
    "text,value",
    [
        (50e9, 50e9),
        ("50e9", 50e9),
        (50_000_000_000, 50e9),
        ("50_000_000_000", 50e9),
        ("50B", 50e9),
        ("50 bn", 50e9),
        ("1.5T", 1.5e12),
        ("300M", 300e6),
        ("12k", 12e3),
        ("8%", 0.08),
        ("-2.5", -2.5),
        ("1,200", 1200.0),
    ],
)
def test_parse_amount(text, value):
    assert parse_amount(text) == pytest.approx(value, rel=1e-15)


@pytest.mark.parametrize("text", ["one", "5 parsecs", float("nan"), float("inf"), True, "1e999"])
def test_parse_amount_rejects(text):
    with pytest.raises(ValueError):
        parse_amount(text)


@pytest.mark.parametrize(
    "unit,dim,factor",
    [
        ("USD", "USD", 1.0),
        ("USD bn", "USD", 1e9),
        ("USD B", "USD", 1e9),
        ("USD T", "USD", 1e12),
        ("USD bn/year", "USD/year", 1e9),
        ("USD M/MW", "USD/MW", 1e6),
        ("USD bn/GW", "USD/MW", 1e6),
        ("USD/kW", "USD/MW", 1e3),
        ("USD/kWh", "USD/MWh", 1e3),
        ("USD/GPU-hour", "USD/GPU-hour", 1),
        ("GW", "MW", 1e3),
        ("kW", "MW", 1e-3),
        ("%", "share", 0.01),
        ("%/year", "1/year", 0.01),
        ("months", "years", 1 / 12),
        ("GPU/kW", "GPU/MW", 1e3),
        ("1/year", "1/year", 1.0),
    ],
)
def test_parse_unit(unit, dim, factor):
    d, f = parse_unit(unit)
    assert d == dim
    assert f == pytest.approx(factor, rel=1e-15)


def test_other_currency_is_refused_with_a_fix():
    with pytest.raises(UnknownUnit, match="convert the value to USD"):
        parse_unit("EUR bn")


def test_unknown_unit_lists_what_is_accepted():
    with pytest.raises(UnknownUnit, match="use one of USD"):
        parse_unit("furlongs")


def test_the_one_formatter():
    from model.core.formatting import format_mean, format_probability, format_quantile, format_value

    assert format_value(50e9, "USD") == "$50.0B"
    assert format_value(-1.25e12, "USD") == "-$1.25T"
    assert format_value(-131.7e6, "USD") == "-$131.7M"
    assert format_value(894.7e9, "USD/year") == "$894.7B/year"
    assert format_value(2.1, "USD/GPU-hour") == "$2.10"
    assert format_value(1500, "MW") == "1.50 GW"
    assert format_value(0.125, "1/year") == "12.5 %"
    assert format_value(8.1, "years") == "8.1 years"
    assert format_value(float("nan"), "USD") == "n/a"
    assert format_mean(-26.8e9, 0.1317e9, "USD") == "-$26.8B ± $0.1B"
    assert format_mean(-0.076, 0.001, "1/year") == "-7.6 % ± 0.1 %"
    assert format_mean(10.5, 0.1, "years") == "10.5 ± 0.1 years"
    assert format_probability(0.031, 0.0017, 10_000) == "0.031 ± 0.002"
    assert format_probability(0.0007, 0.00026, 10_000) == "0.0007 ± 0.0003"
    assert format_probability(0.0, 0.0, 10_000) == "< 0.0003 (0 of 10,000 draws)"
    assert format_quantile(None, "years", "after {end}", 2040) == "after 2040"
