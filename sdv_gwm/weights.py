"""Mixing-weight distributions: sampling, exact moments and the variance-preserving solver.

A synthetic row is ``lam * x_i + (1 - lam) * x_j``. With ``u = lam * (1 - lam)``, mixing scales
every covariance by ``1 - 2 E[u]``; a law with ``E[u] = 0`` preserves the covariance exactly.

Every law here is an ``EpBeta``: ``lam = (1 + eps0 + eps1) * B - eps0`` with
``B ~ Beta(alpha, beta)``, i.e. scipy's ``beta(alpha, beta, loc=-eps0, scale=1 + eps0 + eps1)``.
scipy gives the moments (exact, from the Beta moments) and the pdf; this module adds the
quantities of the mixup theory, the closed-form solver and the per-pair law that keeps
synthetic values inside bounded ranges.
"""

import numpy as np
from scipy import special, stats

#: Smallest ``alpha + beta`` a per-pair law may shrink to when its pair leaves no room to
#: extrapolate: a U-shaped law on [0, 1] whose draws are near, but never exactly, copies.
MIN_CONCENTRATION = 0.02

#: The Beta draw of a per-pair law is kept this far from 0 and 1: a tiny shape puts mass
#: within 1e-16 of an end, which floating point rounds to a copy of a parent.
EDGE = 1e-3

#: Extrapolation of the default law on each side of [0, 1].
DEFAULT_EPS = 0.2


def _check_positive(name, value):
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"'{name}' must be a positive finite number, got {value!r}.")


def _check_eps(name, value):
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"'{name}' must be a non-negative finite number, got {value!r}.")


class EpBeta:
    """Extrapolating Beta law: ``lam = (1 + eps0 + eps1) * B - eps0``, ``B ~ Beta(alpha, beta)``.

    Its support is ``[-eps0, 1 + eps1]``; with ``eps0 = eps1 = 0`` it is the classic mixup
    ``Beta(alpha, beta)``.

    Args:
        alpha (float):
            First Beta shape, positive.
        beta (float):
            Second Beta shape, positive.
        eps0 (float):
            How far below 0 the weight may go. Defaults to 0.
        eps1 (float):
            How far above 1 the weight may go. Defaults to 0.
    """

    def __init__(self, alpha, beta, eps0=0.0, eps1=0.0):
        alpha, beta, eps0, eps1 = (float(value) for value in (alpha, beta, eps0, eps1))
        _check_positive('alpha', alpha)
        _check_positive('beta', beta)
        _check_eps('eps0', eps0)
        _check_eps('eps1', eps1)
        self.alpha, self.beta, self.eps0, self.eps1 = alpha, beta, eps0, eps1
        self.dist = stats.beta(alpha, beta, loc=-eps0, scale=1.0 + eps0 + eps1)

    @classmethod
    def preserving(cls, eps0=DEFAULT_EPS, eps1=DEFAULT_EPS, mean=0.5):
        """Solve for the variance-preserving law with the given support and mean.

        The degree of freedom is the mean ``m = E[lam]``. ``E[u] = 0`` means
        ``Var(lam) = m (1 - m)``; with ``p = (m + eps0) / S`` and ``S = 1 + eps0 + eps1`` the
        Beta moments give ``alpha + beta = S**2 p (1 - p) / (m (1 - m)) - 1`` in closed form.

        Args:
            eps0 (float):
                Extrapolation below 0, non-negative.
            eps1 (float):
                Extrapolation above 1, non-negative; ``eps0 + eps1`` must be positive.
            mean (float):
                ``E[lam]``, strictly between 0 and 1. Defaults to 0.5, which keeps the
                covariance exact under any pairing of rows (see the theory page).

        Returns:
            EpBeta:
                The law with ``E[u] = 0`` up to rounding error.

        Raises:
            ValueError: If a parameter is invalid or no preserving law exists.
        """
        eps0, eps1, mean = float(eps0), float(eps1), float(mean)
        _check_eps('eps0', eps0)
        _check_eps('eps1', eps1)
        if not 0 < mean < 1:
            raise ValueError(f"'mean' must lie strictly between 0 and 1, got {mean!r}.")

        if eps0 + eps1 == 0:
            raise ValueError(
                'No variance-preserving EpBeta exists without extrapolation '
                f'(eps0={eps0}, eps1={eps1}): a weight in [0, 1] always shrinks the variance.'
            )

        return cls(*_shapes(eps0, eps1, mean, mean * (1 - mean)), eps0, eps1)

    def with_variance(self, variance):
        """Return the law with the same support and mean and another variance.

        Args:
            variance (float):
                ``Var(lam)``; ``E[u] = m (1 - m) - variance`` with ``m = E[lam]``.

        Returns:
            EpBeta:
                The law.

        Raises:
            ValueError: If the support cannot hold that variance around that mean.
        """
        return EpBeta(*_shapes(self.eps0, self.eps1, self.mean, variance), self.eps0, self.eps1)

    def moment(self, order):
        """Return the raw moment ``E[lam**order]``.

        Exact (closed form from the Beta moments) up to order 4, which is all the mixup
        quantities use; scipy integrates numerically above (relative error about 1e-10).
        """
        return float(self.dist.moment(order))

    @property
    def mean(self):
        """float: ``E[lam]``."""
        return self.moment(1)

    @property
    def expected_u(self):
        """float: ``E[u]`` with ``u = lam (1 - lam)``; zero for a preserving law."""
        return self.moment(1) - self.moment(2)

    @property
    def covariance_factor(self):
        """float: ``1 - 2 E[u]``, the factor mixing applies to every covariance."""
        return 1.0 - 2.0 * self.expected_u

    @property
    def delta(self):
        """float: ``E[u**2]``; the fourth moment grows by ``delta (2 m4 + 6 s**4)``."""
        return self.moment(2) - 2.0 * self.moment(3) + self.moment(4)

    @property
    def inheritance_factor(self):
        """float: ``E[max(lam, 1 - lam)]``, the factor on discrete-continuous covariances.

        A discrete value is taken from the parent with the larger weight, so its covariance
        with a mixed column scales by this factor instead of 1. Closed form, from the Beta's
        partial moments below ``t``, the quantile of 1/2 on the Beta scale (scipy's numerical
        ``expect`` gives the same, about 400 times slower):
        ``E[max(lam, 1 - lam)] = m + 2 ((1/2 + eps0) I_t(a, b) - S a / (a + b) I_t(a + 1, b))``.
        """
        scale = 1.0 + self.eps0 + self.eps1
        level = (0.5 + self.eps0) / scale
        below = special.betainc(self.alpha, self.beta, level)
        mean_below = (
            self.alpha
            / (self.alpha + self.beta)
            * special.betainc(self.alpha + 1, self.beta, level)
        )
        return self.mean + 2.0 * ((0.5 + self.eps0) * below - scale * mean_below)

    def winner_law(self):
        """Return the law of the winner's weight for mixing with a transported partner.

        Same support and ``E[u]``, mean ``h = E[max(lam, 1 - lam)]`` (``inheritance_factor``):
        ``Var = h (1 - h) - E[u]``. The winner keeps as much of its own row as under this law.

        Returns:
            EpBeta:
                The law.
        """
        mean = self.inheritance_factor
        variance = mean * (1 - mean) - self.expected_u
        return EpBeta(*_shapes(self.eps0, self.eps1, mean, variance), self.eps0, self.eps1)

    def get_parameters(self):
        """Return the four parameters as a dict."""
        return {'alpha': self.alpha, 'beta': self.beta, 'eps0': self.eps0, 'eps1': self.eps1}

    def sample(self, size, random_state, room0=None, room1=None):
        """Draw weights, optionally one law per pair shrunk to the room the pair leaves.

        ``room0[k]`` and ``room1[k]`` say how far below 0 and above 1 the ``k``-th weight may
        go before a mixed value leaves its column's range. Where the room is smaller than
        ``eps0`` / ``eps1`` the support is cut to it and ``alpha + beta`` is re-solved so that
        the law keeps its mean and its ``E[u]``: the theory holds pair by pair, so it holds
        overall. Where no such law exists (no room at all for a preserving law) the
        concentration stops at ``MIN_CONCENTRATION``, and the Beta draw is kept ``EDGE`` away
        from 0 and 1: near, never exact, copies.

        Args:
            size (int):
                Number of weights.
            random_state (numpy.random.Generator):
                Source of randomness.
            room0 (numpy.ndarray or None):
                Per-weight room below 0 (non-negative, may be ``inf``).
            room1 (numpy.ndarray or None):
                Per-weight room above 1 (non-negative, may be ``inf``).

        Returns:
            numpy.ndarray:
                ``size`` weights.
        """
        laws = self._pair_laws(room0, room1)
        if laws is None:
            return self.dist.rvs(size=size, random_state=random_state)

        return self._scaled(random_state.beta(*laws[:2]), laws)

    def draw(self, size, random_state, room0=None, room1=None):
        """Draw weights as ``sample`` does, and say which parent wins each.

        For a law that does not depend on the pair the parent with the larger weight wins:
        ``lam >= 1/2``. A per-pair law cut by its room is not symmetric, so there the first
        parent wins when its Beta draw is above the quantile at the level ``P(lam < 1/2)`` of
        the uncut law: it wins with the same probability in every pair, a pair near a bound
        does not win more often, and discrete marginals stay exact. The winner is decided on
        the draw before it is kept ``EDGE`` away from 0 and 1.

        Args:
            size (int):
                Number of weights.
            random_state (numpy.random.Generator):
                Source of randomness.
            room0 (numpy.ndarray or None):
                Per-weight room below 0, as in ``sample``.
            room1 (numpy.ndarray or None):
                Per-weight room above 1, as in ``sample``.

        Returns:
            tuple[numpy.ndarray, numpy.ndarray]:
                The weights, and whether the first parent wins.
        """
        laws = self._pair_laws(room0, room1)
        if laws is None:
            lam = self.dist.rvs(size=size, random_state=random_state)
            return lam, lam >= 0.5

        alpha, beta, eps0, scale = laws
        draws = random_state.beta(alpha, beta)
        wins = draws * scale - eps0 >= 0.5  # the uncut law's own rule
        cut = scale < 1.0 + self.eps0 + self.eps1
        level = self.dist.cdf(0.5)
        wins[cut] = special.betainc(alpha[cut], beta[cut], draws[cut]) >= level
        return self._scaled(draws, laws), wins

    @staticmethod
    def _scaled(draws, laws):
        """Per-pair Beta draws on the scale of the weights, kept ``EDGE`` away from 0 and 1."""
        _, _, eps0, scale = laws
        return np.clip(draws, EDGE, 1 - EDGE) * scale - eps0

    def sample_given_winner(self, first_wins, random_state, room0=None, room1=None):
        """Draw weights from the law conditioned on which parent wins.

        The first parent wins exactly when the weight's quantile is above ``P(lam < 1/2)``
        of the unshrunk law (see ``draw``), so drawing the quantile on that side
        and inverting the CDF draws the weight given the winner.

        Args:
            first_wins (numpy.ndarray):
                Boolean per weight: whether the first parent must win.
            random_state (numpy.random.Generator):
                Source of randomness.
            room0 (numpy.ndarray or None):
                Per-weight room below 0, as in ``sample``.
            room1 (numpy.ndarray or None):
                Per-weight room above 1, as in ``sample``.

        Returns:
            numpy.ndarray:
                One weight per entry of ``first_wins``.
        """
        level = self.dist.cdf(0.5)
        quantile = random_state.random(len(first_wins))
        quantile = np.where(first_wins, level + quantile * (1 - level), quantile * level)
        laws = self._pair_laws(room0, room1)
        if laws is None:
            return self.dist.ppf(quantile)

        alpha, beta, _, _ = laws
        return self._scaled(special.betaincinv(alpha, beta, quantile), laws)

    def pair_moments(self, room0, room1):
        """First two moments of the per-pair laws that ``sample`` draws from, in closed form.

        Args:
            room0 (numpy.ndarray):
                Per-weight room below 0, as in ``sample`` (negative: the weight must stay
                above ``-room0``).
            room1 (numpy.ndarray):
                Per-weight room above 1.

        Returns:
            tuple[numpy.ndarray, numpy.ndarray]:
                ``E[lam]`` and ``E[lam**2]`` of each pair's law (the ``EDGE`` guard aside).
        """
        alpha, beta, eps0, scale = self._pair_laws(room0, room1)
        first = alpha / (alpha + beta)
        second = first * (alpha + 1) / (alpha + beta + 1)
        return first * scale - eps0, second * scale**2 - 2 * eps0 * scale * first + eps0**2

    def _pair_laws(self, room0, room1):
        """Shapes, ``eps0`` and scale of the per-pair laws; ``None`` when rooms do not bind."""
        if room0 is None or (self.eps0 == 0 and self.eps1 == 0):
            return None

        eps0 = np.minimum(self.eps0, room0)  # negative: the weight must stay above -room0
        eps1 = np.minimum(self.eps1, room1)
        scale = np.maximum(1.0 + eps0 + eps1, 1e-12)
        share = np.clip((self.mean + eps0) / scale, 1e-9, 1 - 1e-9)
        floor = min(MIN_CONCENTRATION, self.alpha + self.beta)
        total = np.maximum(scale**2 * share * (1 - share) / self.dist.var() - 1.0, floor)
        return share * total, (1 - share) * total, eps0, scale

    def __eq__(self, other):
        return type(self) is type(other) and self.get_parameters() == other.get_parameters()

    def __hash__(self):
        return hash((type(self).__name__, *self.get_parameters().values()))

    def __repr__(self):
        return (
            f'EpBeta(alpha={self.alpha:g}, beta={self.beta:g}, '
            f'eps0={self.eps0:g}, eps1={self.eps1:g})'
        )


def _shapes(eps0, eps1, mean, variance):
    """Beta shapes of the EpBeta on ``[-eps0, 1 + eps1]`` with this mean and variance."""
    scale = 1.0 + eps0 + eps1
    share = (mean + eps0) / scale
    total = scale**2 * share * (1 - share) / variance - 1.0
    if not total > 0:
        raise ValueError(
            f'No EpBeta on [{-eps0:g}, {1 + eps1:g}] has mean {mean:g} and variance {variance:g}.'
        )

    return share * total, (1 - share) * total


class Beta(EpBeta):
    """Classic mixup weights ``lam ~ Beta(alpha, beta)`` on [0, 1]; shrinks the covariance.

    Args:
        alpha (float):
            First shape, positive.
        beta (float or None):
            Second shape; ``None`` (default) means ``beta = alpha``.
    """

    def __init__(self, alpha, beta=None):
        super().__init__(alpha, alpha if beta is None else beta)

    def get_parameters(self):
        """Return the two shapes as a dict."""
        return {'alpha': self.alpha, 'beta': self.beta}

    def __repr__(self):
        return f'Beta(alpha={self.alpha:g}, beta={self.beta:g})'


class Uniform(Beta):
    """Uniform weights on [0, 1] (``Beta(1, 1)``): covariance factor 2/3."""

    def __init__(self):
        super().__init__(1.0, 1.0)

    def get_parameters(self):
        """Return an empty dict: the uniform law has no parameters."""
        return {}

    def __repr__(self):
        return 'Uniform()'


#: Laws that ``GWMSynthesizer(weights=...)`` accepts by name.
NAMED_WEIGHTS = {
    'epbeta': EpBeta.preserving,
    'beta': lambda: Beta(0.4),
    'uniform': Uniform,
}


def get_weights(weights):
    """Turn a name or a law into a law.

    Args:
        weights (str or EpBeta):
            ``'epbeta'`` (the default variance-preserving ``EpBeta.preserving(0.2, 0.2)``),
            ``'beta'`` (classic mixup, ``Beta(0.4)``), ``'uniform'``, or an ``EpBeta``.

    Returns:
        EpBeta:
            The law.

    Raises:
        ValueError: If the name is unknown or the object is not a weight law.
    """
    if isinstance(weights, EpBeta):
        return weights

    if isinstance(weights, str) and weights in NAMED_WEIGHTS:
        return NAMED_WEIGHTS[weights]()

    raise ValueError(
        f'Unknown weights {weights!r}. Use one of {sorted(NAMED_WEIGHTS)} or an EpBeta, Beta '
        'or Uniform object from sdv_gwm.weights.'
    )
