"""Request dependencies: the data being served, the store and settings held by the app."""

from __future__ import annotations

from fastapi import Request

from gridgeo.io.dataset import Dataset


def dataset(request: Request) -> Dataset:
    """The published data, read once per request: a new version swaps it whole."""
    data: Dataset = request.app.state.live.current
    return data
