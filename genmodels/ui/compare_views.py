"""What the Compare page draws: the toy comparison (cached per server) and the table and chart of
the image generators."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from genmodels.i18n import _
from genmodels.lessons import compare
from genmodels.models.common import parameter_count
from genmodels.ui.cache import feature_classifier, model_key, sample_quality
from genmodels.ui.gan_lab_views import FAKE_COLOUR, REAL_COLOUR
from genmodels.ui.state import ModelChoice, shared_dataset

DIFFUSION_FAMILIES = ("ddpm", "flow")


@st.cache_resource(max_entries=8, show_spinner=False)
def toy_results(dataset: str, steps: int, seed: int) -> list[compare.ToyResult]:
    """The three toy models trained once per server for these settings (fresh models, read-only after)."""
    return compare.toy_comparison(shared_dataset(dataset, "cpu"), steps, seed)


def toy_figure(result: compare.ToyResult, real, span: float) -> go.Figure:
    figure = go.Figure()
    figure.add_scattergl(x=real[:, 0].numpy(), y=real[:, 1].numpy(), mode="markers", name=_("real data"),
                         marker={"size": 3, "color": REAL_COLOUR, "opacity": 0.35})
    figure.add_scattergl(x=result.samples[:, 0].numpy(), y=result.samples[:, 1].numpy(), mode="markers",
                         name=_("samples"), marker={"size": 3, "color": FAKE_COLOUR, "opacity": 0.8})
    figure.update_layout(height=330, margin={"l": 5, "r": 5, "t": 30, "b": 5}, showlegend=False,
                         title={"text": _(result.name), "font": {"size": 14}}, plot_bgcolor="white",
                         xaxis={"range": [-span, span], "zeroline": False, "constrain": "domain"},
                         yaxis={"range": [-span, span], "scaleanchor": "x", "zeroline": False, "constrain": "domain"})
    return figure


def toy_table(results: list[compare.ToyResult]) -> list[dict]:
    rows = []
    for result in results:
        row = {_("model"): _(result.name), _("parameters"): f"{result.parameters:,}",
               _("training time (s)"): f"{result.train_seconds:.1f}"}
        if result.coverage is not None:
            row[_("modes covered")] = f"{result.coverage.modes_covered} / {result.coverage.modes}"
            row[_("off-mode samples")] = f"{result.coverage.off_mode_fraction:.0%}"
        rows.append(row)
    return rows


# --------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------

def quality_of(choice: ModelChoice):
    """(Frechet distance, floor, samples, where the number comes from). A diffusion model takes
    many minutes to draw thousands of samples on a CPU, so its numbers are the ones ``python -m
    genmodels eval`` stored in the checkpoint, with their own sample count and floor; the others
    are measured here (5,000 samples, once per server)."""
    metrics = choice.info.metrics
    if choice.info.family in DIFFUSION_FAMILIES:
        if "frechet" not in metrics:
            return None
        return (metrics["frechet"], metrics.get("frechet_floor"), int(metrics.get("frechet_samples", 5000)),
                _("stored by python -m genmodels eval"))
    quality = sample_quality(choice.model, model_key(choice), choice.info.dataset)
    return quality.frechet, quality.floor, quality.samples, _("measured now")


def generator_rows(choices: list[ModelChoice]) -> list[dict]:
    """One row per generator: Frechet distance and floor, sample time per image, parameter count."""
    rows = []
    for choice in choices:
        timing = compare.timed_samples(choice.model)
        quality = quality_of(choice) if feature_classifier(choice.info.dataset) is not None else None
        frechet, floor, scored, source = quality if quality is not None else (None, None, 0, "")
        rows.append({
            "choice": choice, "samples": timing.images, "family": choice.info.family, "frechet": frechet,
            "floor": floor, "scored": scored, "source": source, "ms_per_image": 1000 * timing.seconds_per_image,
            "parameters": parameter_count(choice.model),
        })
    return rows


def generator_table(rows: list[dict]) -> list[dict]:
    return [{_("model"): row["choice"].name, _("family"): row["family"],
             _("Frechet distance"): "-" if row["frechet"] is None else f"{row['frechet']:.2f}",
             _("floor"): "-" if row["floor"] is None else f"{row['floor']:.2f}",
             _("samples scored"): f"{row['scored']:,}" if row["scored"] else "-",
             _("where the distance comes from"): row["source"] or "-",
             _("sampling time per image (ms)"): f"{row['ms_per_image']:.1f}",
             _("parameters"): f"{row['parameters']:,}"} for row in rows]


def generator_chart(rows: list[dict]) -> go.Figure:
    """Frechet distance per generator as bars, each with its floor as a green mark (lower is better;
    a floor depends on the number of samples scored)."""
    scored = [row for row in rows if row["frechet"] is not None]
    figure = go.Figure()
    figure.add_bar(x=[row["choice"].name for row in scored], y=[row["frechet"] for row in scored],
                   name=_("Frechet distance"), marker_color=FAKE_COLOUR,
                   text=[f"{row['frechet']:.2f}" for row in scored], textposition="outside")
    figure.add_scatter(x=[row["choice"].name for row in scored], y=[row["floor"] for row in scored],
                       mode="markers", marker={"symbol": "line-ew-open", "size": 40, "color": REAL_COLOUR,
                                               "line": {"width": 3}}, name=_("floor: real images"))
    figure.update_layout(height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                         yaxis={"title": _("Frechet distance (lower is better)"), "rangemode": "tozero"},
                         legend={"orientation": "h", "y": -0.15}, uirevision="compare_chart")
    return figure
