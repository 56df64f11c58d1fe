"""Request dependencies: the data being served, the store and settings held by the app."""

from __future__ import annotations

from fastapi import Request

from gridgeo.io.dataset import Dataset


def current_dataset(request: Request) -> Dataset:
    """The published data, read once per request: a new version swaps it whole."""
    data: Dataset = request.app.state.live.current
    return data


async def dataset(request: Request) -> Dataset:
    """:func:`current_dataset` as a dependency. ``async``: a plain ``def`` dependency
    costs a hop to the thread pool on every request, for one attribute read."""
    return current_dataset(request)
