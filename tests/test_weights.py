"""Weight laws against closed forms derived here and against Monte Carlo.

Closed forms: ``B ~ Beta(a, b)`` has raw moments ``E[B**k] = prod_{r<k} (a + r) / (a + b + r)``
and ``lam = S * B - eps0`` (``S = 1 + eps0 + eps1``) has, by the binomial expansion,
``E[lam**k] = sum_j C(k, j) S**j E[B**j] (-eps0)**(k - j)``. Monte Carlo tolerances are five
standard errors computed from the law's own higher moments.
"""

from math import comb

import numpy as np
import pytest
from scipy import integrate, optimize

from sdv_gwm.weights import (
    EDGE,
    MIN_CONCENTRATION,
    Beta,
    EpBeta,
    Uniform,
    get_weights,
)

PAPER = (4.34, 1.33, 0.3, 0.3)
LAWS = [
    EpBeta(*PAPER),
    EpBeta(0.7, 2.5, 0.1, 0.4),
    EpBeta(3.0, 0.8, 0.0, 0.25),
    EpBeta.preserving(),
    EpBeta.preserving(0.05, 0.6, mean=0.3),
    Beta(0.4),
    Beta(2.0, 0.5),
    Uniform(),
]
N_DRAWS = 200_000


def beta_raw_moment(a, b, k):
    return float(np.prod([(a + r) / (a + b + r) for r in range(k)]))


def lam_raw_moment(a, b, eps0, eps1, k):
    scale = 1.0 + eps0 + eps1
    return sum(
        comb(k, j) * scale**j * beta_raw_moment(a, b, j) * (-eps0) ** (k - j) for j in range(k + 1)
    )


def expected_u(a, b, eps0, eps1):
    return lam_raw_moment(a, b, eps0, eps1, 1) - lam_raw_moment(a, b, eps0, eps1, 2)


def u_squared(a, b, eps0, eps1):
    m = [lam_raw_moment(a, b, eps0, eps1, k) for k in range(5)]
    return m[2] - 2 * m[3] + m[4]


def params(law):
    return law.alpha, law.beta, law.eps0, law.eps1


@pytest.mark.parametrize('law', LAWS, ids=repr)
def test_raw_moments_match_binomial_expansion(law):
    for k in range(1, 5):
        assert law.moment(k) == pytest.approx(
            lam_raw_moment(*params(law), k), rel=1e-12, abs=1e-14
        )

    for k in (5, 6):  # scipy integrates numerically above order 4
        assert law.moment(k) == pytest.approx(lam_raw_moment(*params(law), k), rel=1e-8)

    assert law.mean == pytest.approx(lam_raw_moment(*params(law), 1), rel=1e-12)
    assert law.expected_u == pytest.approx(expected_u(*params(law)), abs=1e-13)
    assert law.delta == pytest.approx(u_squared(*params(law)), rel=1e-10)
    assert law.covariance_factor == pytest.approx(1 - 2 * expected_u(*params(law)), abs=1e-13)


@pytest.mark.parametrize('law', LAWS, ids=repr)
def test_monte_carlo_moments_within_five_standard_errors(law):
    draws = law.sample(N_DRAWS, np.random.default_rng(0))
    assert draws.min() >= -law.eps0 and draws.max() <= 1 + law.eps1
    for k in range(1, 5):
        variance = lam_raw_moment(*params(law), 2 * k) - lam_raw_moment(*params(law), k) ** 2
        tolerance = 5 * np.sqrt(variance / N_DRAWS)
        assert abs(np.mean(draws**k) - law.moment(k)) < tolerance

    u = draws * (1 - draws)
    u_tolerance = 5 * np.sqrt((law.delta - law.expected_u**2) / N_DRAWS)
    assert abs(u.mean() - law.expected_u) < u_tolerance


@pytest.mark.parametrize('law', LAWS, ids=repr)
def test_third_moment_identity(law):
    # lam^3 + (1 - lam)^3 = 1 - 3u, so third moments are kept exactly when E[u] = 0.
    m1, m2, m3 = (law.moment(k) for k in (1, 2, 3))
    cubes = m3 + (1 - 3 * m1 + 3 * m2 - m3)
    assert cubes == pytest.approx(1 - 3 * law.expected_u, abs=1e-13)


@pytest.mark.parametrize('a', [0.4, 1.0, 2.5, 10.0])
def test_classic_beta_covariance_factor(a):
    assert Beta(a).covariance_factor == pytest.approx((a + 1) / (2 * a + 1), rel=1e-12)
    assert Beta(a).expected_u > 0


def test_classic_mixup_values_from_the_paper():
    assert round(Beta(0.4).covariance_factor, 2) == 0.78
    assert round(Beta(0.4).covariance_factor ** 10, 2) == 0.08
    assert Uniform().covariance_factor == pytest.approx(2 / 3, rel=1e-12)
    assert Uniform().moment(2) == pytest.approx(1 / 3, rel=1e-12)


GRID = [
    (eps0, eps1, mean)
    for eps0 in (0.0, 0.05, 0.3, 1.0)
    for eps1 in (0.0, 0.2, 0.7)
    for mean in (0.1, 0.5, 0.9)
    if eps0 + eps1 > 0
]


@pytest.mark.parametrize(('eps0', 'eps1', 'mean'), GRID)
def test_preserving_solver_is_exact(eps0, eps1, mean):
    law = EpBeta.preserving(eps0, eps1, mean=mean)
    assert (law.eps0, law.eps1) == (eps0, eps1)
    assert abs(expected_u(*params(law))) < 1e-12
    assert abs(law.expected_u) < 1e-12
    assert lam_raw_moment(*params(law), 1) == pytest.approx(mean, abs=1e-12)


@pytest.mark.parametrize('eps', [0.01, 0.1, 0.2, 0.3, 1.0])
def test_symmetric_preserving_law_has_closed_form(eps):
    law = EpBeta.preserving(eps, eps)
    assert law.alpha == pytest.approx(2 * eps * (1 + eps), rel=1e-12)
    assert law.beta == pytest.approx(2 * eps * (1 + eps), rel=1e-12)
    # Var(lam) = (1 + 2e)^2 / (4 (2a + 1)) = 1/4 = E[lam] (1 - E[lam]).
    assert (1 + 2 * eps) ** 2 / (4 * (2 * law.alpha + 1)) == pytest.approx(0.25, rel=1e-12)


def test_default_law_is_symmetric_preserving():
    law = get_weights('epbeta')
    assert law == EpBeta.preserving(0.2, 0.2)
    assert law.mean == pytest.approx(0.5, abs=1e-12)
    assert abs(law.expected_u) < 1e-12


def test_paper_example_lies_on_the_curve_within_rounding():
    law = EpBeta(*PAPER)
    assert round(law.expected_u, 4) == 0.0007
    assert round(law.mean, 3) == 0.925
    assert round(law.delta, 3) == 0.034
    assert round(law.inheritance_factor, 2) == 0.95

    corners = [expected_u(a, b, 0.3, 0.3) for a in (4.335, 4.345) for b in (1.325, 1.335)]
    assert min(corners) < 0 < max(corners)

    root = optimize.brentq(lambda b: expected_u(4.34, b, 0.3, 0.3), 1.0, 2.0, xtol=1e-14)
    assert round(root, 2) == 1.33


@pytest.mark.parametrize('law', LAWS, ids=repr)
def test_inheritance_factor(law):
    def integrand(b):
        lam = (1 + law.eps0 + law.eps1) * b - law.eps0
        return max(lam, 1 - lam) * law.dist.pdf(lam) * (1 + law.eps0 + law.eps1)

    exact, _ = integrate.quad(
        integrand, 0, 1, points=[(0.5 + law.eps0) / (1 + law.eps0 + law.eps1)]
    )
    assert law.inheritance_factor == pytest.approx(exact, abs=1e-7)

    draws = law.sample(N_DRAWS, np.random.default_rng(1))
    larger = np.maximum(draws, 1 - draws)
    assert abs(larger.mean() - law.inheritance_factor) < 5 * larger.std() / np.sqrt(N_DRAWS)


@pytest.mark.parametrize(
    ('call', 'match'),
    [
        (lambda: EpBeta(-1.0, 1.0), 'alpha'),
        (lambda: EpBeta(0.0, 1.0), 'alpha'),
        (lambda: EpBeta(1.0, 0.0), 'beta'),
        (lambda: EpBeta(1.0, np.nan), 'beta'),
        (lambda: EpBeta(np.inf, 1.0), 'alpha'),
        (lambda: EpBeta(1.0, 1.0, -0.1, 0.2), 'eps0'),
        (lambda: EpBeta(1.0, 1.0, 0.2, -0.1), 'eps1'),
        (lambda: Beta(-0.4), 'alpha'),
        (lambda: EpBeta.preserving(-0.1, 0.2), 'eps0'),
        (lambda: EpBeta.preserving(0.2, -0.1), 'eps1'),
        (lambda: EpBeta.preserving(0.2, 0.2, mean=0.0), 'mean'),
        (lambda: EpBeta.preserving(0.2, 0.2, mean=1.0), 'mean'),
        (lambda: EpBeta.preserving(0.2, 0.2, mean=1.5), 'mean'),
        (lambda: EpBeta.preserving(0.0, 0.0), 'without extrapolation'),
        (lambda: get_weights('gaussian'), 'Unknown weights'),
        (lambda: get_weights(0.4), 'Unknown weights'),
    ],
)
def test_invalid_parameters_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_get_weights_names():
    assert get_weights('beta') == Beta(0.4)
    assert get_weights('uniform') == Uniform()
    law = EpBeta(*PAPER)
    assert get_weights(law) is law


def pair_law(room0, room1, eps=0.2):
    """Independent derivation: support cut to the room, mean 1/2 and Var 1/4 fix the Beta."""
    eps0, eps1 = min(eps, room0), min(eps, room1)
    scale = 1 + eps0 + eps1
    share = (0.5 + eps0) / scale
    total = scale**2 * share * (1 - share) / 0.25 - 1
    return eps0, eps1, share, total


@pytest.mark.parametrize(
    ('room0', 'room1'), [(0.05, 0.3), (0.1, 0.1), (np.inf, 0.02), (0.0, np.inf), (np.inf, np.inf)]
)
def test_per_pair_law_keeps_mean_and_u_when_room_allows(room0, room1):
    law = EpBeta.preserving(0.2, 0.2)
    eps0, eps1, share, total = pair_law(room0, room1)
    assert total > MIN_CONCENTRATION  # the room allows a preserving law

    ones = np.ones(N_DRAWS)
    draws = law.sample(N_DRAWS, np.random.default_rng(2), room0 * ones, room1 * ones)
    assert draws.min() >= -eps0 - 1e-12 and draws.max() <= 1 + eps1 + 1e-12

    exact = EpBeta(share * total, (1 - share) * total, eps0, eps1)
    assert abs(exact.expected_u) < 1e-12 and exact.mean == pytest.approx(0.5, abs=1e-12)
    assert abs(draws.mean() - 0.5) < 5 * np.sqrt(0.25 / N_DRAWS)
    u = draws * (1 - draws)
    assert abs(u.mean()) < 5 * np.sqrt(exact.delta / N_DRAWS)


def test_per_pair_law_respects_each_room():
    rng = np.random.default_rng(3)
    law = EpBeta.preserving(0.2, 0.2)
    room0 = np.where(rng.random(N_DRAWS) < 0.2, np.inf, rng.exponential(0.1, N_DRAWS))
    room1 = np.where(rng.random(N_DRAWS) < 0.2, 0.0, rng.exponential(0.1, N_DRAWS))
    draws = law.sample(N_DRAWS, rng, room0, room1)
    assert np.all(draws >= -np.minimum(0.2, room0) - 1e-12)
    assert np.all(draws <= 1 + np.minimum(0.2, room1) + 1e-12)


def test_no_room_falls_back_to_concentration_floor():
    law = EpBeta.preserving(0.2, 0.2)
    zeros = np.zeros(N_DRAWS)
    draws = law.sample(N_DRAWS, np.random.default_rng(4), zeros, zeros)
    assert draws.min() >= 0 and draws.max() <= 1
    # Beta(MIN_CONCENTRATION / 2, MIN_CONCENTRATION / 2): mean 1/2, Var 1 / (4 (c + 1)).
    floor = Beta(MIN_CONCENTRATION / 2)
    assert abs(draws.mean() - 0.5) < 5 * np.sqrt(floor.dist.var() / N_DRAWS)
    second = lam_raw_moment(*params(floor), 2)
    tolerance = 5 * np.sqrt((lam_raw_moment(*params(floor), 4) - second**2) / N_DRAWS)
    assert abs(np.mean(draws**2) - second) < tolerance
    assert floor.covariance_factor < 1  # those pairs shrink: the price of no room


def test_no_room_never_draws_exactly_zero_or_one():
    law = EpBeta.preserving(0.2, 0.2)
    zeros = np.zeros(N_DRAWS)
    draws = law.sample(N_DRAWS, np.random.default_rng(4), zeros, zeros)
    assert np.all((draws > 0) & (draws < 1))


def test_rooms_ignored_without_extrapolation_and_when_absent():
    rng = np.random.default_rng(5)
    classic = Beta(0.4)
    draws = classic.sample(N_DRAWS, rng, np.zeros(N_DRAWS), np.zeros(N_DRAWS))
    factor = 1 - 2 * np.mean(draws * (1 - draws))
    assert abs(factor - classic.covariance_factor) < 10 * np.sqrt(classic.delta / N_DRAWS)

    law = EpBeta.preserving(0.2, 0.2)
    draws = law.sample(N_DRAWS, rng)
    assert draws.min() < -0.1 and draws.max() > 1.1


@pytest.mark.parametrize('law', [EpBeta.preserving(0.2, 0.2), EpBeta(4.34, 1.33, 0.3, 0.3)])
def test_first_parent_wins_equally_often_whatever_the_room(law):
    rng = np.random.default_rng(11)
    win = 1 - law.dist.cdf(0.5)
    for room0, room1 in [(0.0, 0.15), (0.05, 0.0), (0.0, 0.0), (0.1, 1.0)]:
        rooms = np.full(N_DRAWS, room0), np.full(N_DRAWS, room1)
        _, wins = law.draw(N_DRAWS, rng, *rooms)
        share = np.mean(wins)
        assert abs(share - win) < 5 * np.sqrt(win * (1 - win) / N_DRAWS)

    draws, wins = law.draw(N_DRAWS, rng)
    assert np.array_equal(wins, draws >= 0.5)


def test_with_variance_keeps_support_and_mean():
    law = EpBeta.preserving(0.2, 0.3, mean=0.4)
    wider = law.with_variance(law.dist.var() + 0.01)
    assert (wider.eps0, wider.eps1) == (0.2, 0.3)
    assert wider.mean == pytest.approx(0.4, abs=1e-12)
    assert wider.dist.var() == pytest.approx(law.dist.var() + 0.01, rel=1e-12)
    assert wider.expected_u == pytest.approx(-0.01, abs=1e-12)
    with pytest.raises(ValueError, match='variance'):
        law.with_variance(10.0)  # more than any law on [-0.2, 1.3] can hold


@pytest.mark.parametrize(
    ('room0', 'room1'),
    [(0.1, 0.05), (0.0, 0.3), (-0.3, 0.1), (0.0, 0.0), (-0.5, 0.0), (np.inf, 0.02)],
)
def test_pair_moments_match_the_draws(room0, room1):
    # The closed-form first two moments of a cut law (feasible, floored or one-sided) against
    # draws of that law; the EDGE guard moves a draw by at most 1e-3 of the support.
    law = EpBeta.preserving(0.2, 0.2).winner_law()
    rooms = np.full(N_DRAWS, room0), np.full(N_DRAWS, room1)
    first, second = (moment[0] for moment in law.pair_moments(*rooms))
    draws = law.sample(N_DRAWS, np.random.default_rng(9), *rooms)
    slack = EDGE * (1 + law.eps0 + law.eps1)  # |lam| <= 1.4: lam**2 moves by <= 2.8 slack
    assert abs(draws.mean() - first) < 5 * draws.std() / np.sqrt(N_DRAWS) + slack
    assert abs(np.mean(draws**2) - second) < 5 * (draws**2).std() / np.sqrt(N_DRAWS) + 2.8 * slack


def test_inheritance_factor_of_a_law_with_singular_density():
    """Shapes below 1 (a small eps): the density is infinite at the ends, the factor is not."""
    law = EpBeta.preserving(0.05, 0.05)
    assert law.alpha < 1
    draws = law.sample(N_DRAWS, np.random.default_rng(2))
    larger = np.maximum(draws, 1 - draws)
    assert abs(larger.mean() - law.inheritance_factor) < 5 * larger.std() / np.sqrt(N_DRAWS)
