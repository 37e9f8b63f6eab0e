"""What a GAN's curves and samples say, in plain words: is it memorising, has the discriminator
won, have the samples lost their variety, are the losses oscillating? One diagnosis for both GAN
lessons: ``diagnose_images`` for the GAN studio (loss history and image samples),
``diagnose_points`` for the 2-D GAN lab (loss history and point clouds with known modes).

A GAN's losses do not go down the way an autoencoder's do: the two players push against each other,
so a student needs the signs to read. The checks here are simple, named thresholds on the loss
history (one row per logged step, with d_loss, g_loss, d_real = mean D(x), d_fake = mean D(G(z)))
and on the samples; each finding says what it saw and what to try.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from genmodels.i18n import L_, N_
from genmodels.metrics.coverage import ModeCoverage, SupportCoverage
from genmodels.metrics.curves import smooth

# Thresholds, in one place so the page can quote them.
RECENT_SHARE = 0.25  # the checks read the last quarter of the history
MIN_ROWS = 8  # fewer logged steps than this: too early to say anything
D_WINS_REAL, D_WINS_FAKE = 0.85, 0.15  # D(x) above and D(G(z)) below these: the discriminator wins
TOO_EARLY_STEPS = 200  # the 2-D lab says nothing before this many steps
VARIETY_RATIO = 0.5  # samples less than half as varied as real images: mode collapse
OSCILLATION_SWINGS = 3  # this many large up-and-down swings of the smoothed G loss: oscillation
SWING_SHARE = 0.3  # a swing counts when it spans 30% of the loss's range...
SWING_RELATIVE = 0.25  # ...and that range is at least 25% of the loss's typical size


@dataclass(frozen=True)
class Finding:
    name: str  # N_("discriminator wins"), N_("mode collapse"), N_("oscillation"): translate with _()
    detected: bool
    evidence: str  # what was measured, with the numbers (a lazy text: shown in the reader's language)
    advice: str  # what it means, and what to try (lazy too)
    judged: bool = True  # False while there is too little to go on (``evidence`` says why)


# --------------------------------------------------------------------------------------------
# Memorisation: how close is a sample to its nearest training image?
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Nearest:
    indices: torch.Tensor  # (K,) index of each query's nearest training image
    distances: torch.Tensor  # (K,) Euclidean distance in pixel space ([0, 1] pixels)


@torch.no_grad()
def nearest_training_images(queries: torch.Tensor, train_x: torch.Tensor, chunk: int = 10_000) -> Nearest:
    """For each query image (K, C, H, W), the nearest of ``train_x`` (N, C, H, W) in pixel space,
    scanning the training set in chunks: |a - b|^2 = |a|^2 + |b|^2 - 2 a.b as one matrix product."""
    a = queries.flatten(1).float().to(train_x.device)  # (K, P)
    best = torch.full((len(a),), float("inf"), device=a.device)
    best_index = torch.zeros(len(a), dtype=torch.long, device=a.device)
    for start in range(0, len(train_x), chunk):
        b = train_x[start:start + chunk].flatten(1).float()  # (n, P)
        squared = (a * a).sum(1, keepdim=True) + (b * b).sum(1) - 2 * a @ b.T  # (K, n)
        value, index = squared.min(dim=1)
        better = value < best
        best = torch.where(better, value, best)
        best_index = torch.where(better, index + start, best_index)
    return Nearest(best_index.cpu(), best.clamp_min(0).sqrt().cpu())


def typical_nearest_distance(train_x: torch.Tensor, test_x: torch.Tensor, count: int = 200) -> float:
    """The median distance from a real, unseen (test) image to its nearest training image: the
    scale for judging a sample. A sample much closer to a training image than this is a copy."""
    return nearest_training_images(test_x[:count], train_x).distances.median().item()


# --------------------------------------------------------------------------------------------
# Diagnostics
# --------------------------------------------------------------------------------------------

def variety(images: torch.Tensor) -> float:
    """Mean pairwise Euclidean distance between images (N, C, H, W), N >= 2: 0 when all are the same."""
    flat = images.flatten(1).float()
    distances = torch.cdist(flat, flat)  # (N, N), zero diagonal
    n = len(flat)
    return (distances.sum() / (n * (n - 1))).item()


def last_share(history: list[dict], term: str) -> list[float]:
    """The values of ``term`` over the last RECENT_SHARE of the history (at least MIN_ROWS rows)."""
    rows = [row[term] for row in history if term in row]
    return rows[-max(MIN_ROWS, int(len(rows) * RECENT_SHARE)):]


def discriminator_wins(history: list[dict]) -> Finding:
    real, fake = last_share(history, "d_real"), last_share(history, "d_fake")
    name = N_("discriminator wins")
    if len(real) < MIN_ROWS:
        return Finding(name, False, L_("too early to tell"), "", judged=False)
    d_real, d_fake = sum(real) / len(real), sum(fake) / len(fake)
    if d_real > D_WINS_REAL and d_fake < D_WINS_FAKE:
        return Finding(name, True, L_("recently D(x) = {real} and D(G(z)) = {fake}", real=f"{d_real:.2f}",
                                      fake=f"{d_fake:.2f}"),
                       L_("D tells real from fake almost perfectly, so its verdict no longer tells G which way to "
                          "improve. Slow D down (a lower D learning rate, fewer D steps) or give G more capacity."))
    if d_fake > 0.25:
        return Finding(name, False, L_("recently D(x) = {real} and D(G(z)) = {fake}: neither player dominates",
                                       real=f"{d_real:.2f}", fake=f"{d_fake:.2f}"), "")
    return Finding(name, False, L_("recently D(x) = {real} and D(G(z)) = {fake}", real=f"{d_real:.2f}",
                                   fake=f"{d_fake:.2f}"),
                   "")


def mode_collapse(sample_variety: float | None, real_variety: float | None, logged_rows: int) -> Finding:
    """``logged_rows``: the rows of loss history so far. An untrained generator's samples all look
    alike (grey blobs), so a healthy run starts out looking collapsed: wait for MIN_ROWS rows, as
    the other checks do (a healthy DCGAN's samples reach 90% of real variety by then)."""
    name = N_("mode collapse")
    if sample_variety is None or not real_variety:
        return Finding(name, False, L_("no samples yet"), "", judged=False)
    if logged_rows < MIN_ROWS:
        return Finding(name, False, L_("too early to tell"), "", judged=False)
    ratio = sample_variety / real_variety
    evidence = L_("samples from different noise differ {ratio} as much as real images do", ratio=f"{ratio:.0%}")
    if ratio < VARIETY_RATIO:
        return Finding(name, True, evidence,
                       L_("G has found a few outputs that fool D and makes them whatever the noise: the samples look "
                       "alike. Try a lower learning rate, the least-squares loss, or a larger generator."))
    return Finding(name, False, evidence, "")


def swings(values: list[float]) -> int:
    """Large reversals of direction (a zigzag count): once the curve has moved by more than
    SWING_SHARE of its range, each later move of that size against the current direction, measured
    from the last peak or trough, counts as one swing. Small wiggles are ignored."""
    threshold = SWING_SHARE * (max(values) - min(values))
    count, direction, low, high = 0, 0, values[0], values[0]  # direction: +1 rising, -1 falling, 0 not yet
    for value in values[1:]:
        if direction == 0:  # before the first large move: watch for one from the lowest or highest so far
            low, high = min(low, value), max(high, value)
            if value - low > threshold or high - value > threshold:
                direction, pivot = (1 if value - low > threshold else -1), value
        elif direction * (value - pivot) > 0:  # still moving the same way: the peak (or trough) moves on
            pivot = value
        elif abs(value - pivot) > threshold:  # a large move back: one swing
            count, direction, pivot = count + 1, -direction, value
    return count


def oscillation(history: list[dict]) -> Finding:
    values = [row["g_loss"] for row in history if "g_loss" in row]
    name = N_("oscillation")
    if len(values) < 2 * MIN_ROWS:
        return Finding(name, False, L_("too early to tell"), "", judged=False)
    half = smooth(values)[len(values) // 2:]
    typical = sum(abs(v) for v in half) / len(half)
    count = swings(half) if (max(half) - min(half)) > SWING_RELATIVE * typical else 0
    evidence = L_("{count} large swings of the G loss in the second half of the run", count=count)
    if count >= OSCILLATION_SWINGS:
        return Finding(name, True, evidence,
                       L_("The players keep overshooting each other instead of settling: each update undoes the "
                          "last. Lower both learning rates, or balance them."))
    return Finding(name, False, evidence, "")


def diagnose_images(history: list[dict], sample_variety: float | None = None,
             real_variety: float | None = None) -> list[Finding]:
    """All three checks, in the order a student should read them."""
    return [discriminator_wins(history), mode_collapse(sample_variety, real_variety, len(history)),
            oscillation(history)]


# --------------------------------------------------------------------------------------------
# The 2-D GAN lab: point clouds, where modes can be counted
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Quality:
    """How well the generated points match the data: ``modes`` for the ring and the grid, which
    have modes to count; ``support`` (precision and recall) for the moons and the spiral."""

    modes: ModeCoverage | None
    support: SupportCoverage | None
    # How spread out the fakes are, relative to the data: the norm of their per-axis standard
    # deviations over the data's. About 1 when G matches the data; a collapsed G is far below.
    spread: float


@dataclass(frozen=True)
class Diagnosis:
    kind: str  # "too_early", "d_wins", "mode_collapse", "mode_hopping", "off_mode", "converged", "learning"
    title: str  # lazy texts (L_): the 2-D lab diagnoses in its runner thread, a page shows it later
    explanation: str


# Below this spread (fakes' std over the data's) G has bunched into one clump: measured on the ring,
# the collapse presets sit at 0.04 to 0.3, healthy runs and a tiny G at 0.7 to 1.0.
COLLAPSED_SPREAD = 0.5


def diagnose_points(step: int, quality: Quality, verdicts: tuple[float, float] | None,
                    modes_visited: int) -> Diagnosis:
    """The 2-D lab's diagnosis: the first of these that fits (thresholds chosen on the toys, with
    the lab's presets): too early to say, D winning, G collapsed into a clump (hopping between
    modes or not), all modes covered, many points between the modes, few modes covered, or still
    learning. ``step``: steps trained; ``verdicts``: D's recent mean verdict on real and on fake
    points (None before any D step); ``modes_visited``: modes covered at some point recently."""
    if step < TOO_EARLY_STEPS:
        return Diagnosis("too_early", L_("Just started"),
                         L_("Give it a few hundred steps: at first both networks are random, and D(x) and D(G(z)) "
                            "both sit near 0.5."))
    collapsed = quality.spread < COLLAPSED_SPREAD
    d_real, d_fake = verdicts or (0.5, 0.5)
    if d_real > D_WINS_REAL and d_fake < D_WINS_FAKE:
        clump = (L_("G's points have bunched into a clump {spread} as wide as the data.",
                    spread=f"{quality.spread:.0%}")
                 if collapsed else "")
        return Diagnosis("d_wins", L_("The discriminator is winning"),
                         L_("D(x) is {real} and D(G(z)) is {fake}: D tells real from fake almost perfectly, "
                            "painting purple wherever G's points are. {clump} G still gets a gradient from the "
                            "non-saturating loss, but while D stays this far ahead G learns little. Slow D down (lower "
                            "D learning rate, fewer D steps) or speed G up.", real=f"{d_real:.2f}",
                            fake=f"{d_fake:.2f}", clump=clump))
    modes = quality.modes
    if collapsed:
        now = modes.modes_covered if modes is not None else 0
        if modes is not None and modes_visited >= now + 2:
            return Diagnosis("mode_hopping", L_("Mode collapse, hopping from mode to mode"),
                             L_("All of G's points sit in one clump ({spread} as wide as the data), and over the "
                                "last steps it has passed over {visited} of the {modes} modes: D learns to reject the "
                                "spot where the clump is, and G drags the whole clump to another. Nothing in G's loss "
                                "asks for variety, only for realism.", spread=f"{quality.spread:.0%}",
                                visited=modes_visited,
                                modes=modes.modes))
        return Diagnosis("mode_collapse", L_("Mode collapse"),
                         L_("All of G's points sit in one clump, {spread} as wide as the data: each fake may look "
                            "real, but G has lost the variety of the data.", spread=f"{quality.spread:.0%}"))
    if modes is not None:
        now = modes.modes_covered
        if now == modes.modes and modes.off_mode_fraction < 0.15:
            return Diagnosis("converged", L_("All modes covered"),
                             L_("Every mode has generated points nearby and only {off} of them fall between "
                                "modes. D(x) and D(G(z)) near 0.5 mean D can no longer tell them apart.",
                                off=f"{modes.off_mode_fraction:.0%}"))
        if modes.off_mode_fraction > 0.3:
            return Diagnosis("off_mode", L_("Many points between the modes"),
                             L_("{off} of G's points are far from every mode: G is still stretching its noise "
                                "between the blobs. This shrinks with more steps, unless G is too small to cut its "
                                "noise into separate pieces.", off=f"{modes.off_mode_fraction:.0%}"))
        if now <= modes.modes // 2 and step >= 1000:
            return Diagnosis("mode_collapse", L_("Some modes are missing"),
                             L_("G's points cover only {covered} of {modes} modes. The fakes sit on real modes, so D "
                                "has little to complain about, and nothing in G's loss asks it for the others.",
                                covered=now, modes=modes.modes))
    elif quality.support is not None:
        support = quality.support
        if support.precision > 0.9 and support.recall > 0.9:
            return Diagnosis("converged", L_("The fakes cover the data"),
                             L_("{precision} of the fakes lie on the data and {recall} of the real points "
                                "have a fake nearby.", precision=f"{support.precision:.0%}",
                                recall=f"{support.recall:.0%}"))
        if support.recall < 0.5 and support.precision > 0.7:
            return Diagnosis("mode_collapse", L_("Part of the data is missing"),
                             L_("The fakes sit on the data ({precision}) but reach only {recall} of it: G has "
                                "dropped whole stretches.", precision=f"{support.precision:.0%}",
                                recall=f"{support.recall:.0%}"))
    return Diagnosis("learning", L_("Learning"),
                     L_("Neither player is far ahead. Watch the purple points follow the arrows towards the green "
                        "ones."))
