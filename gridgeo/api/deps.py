"""Request dependencies: the loaded dataset and settings held by the app."""

from __future__ import annotations

from fastapi import Request

from gridgeo.io.dataset import Dataset


def dataset(request: Request) -> Dataset:
    data: Dataset = request.app.state.dataset
    return data
