"""The HTTP app (create_app): health, lookup, and bad input as clear 4xx."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gridgeo.api.app import create_app
from gridgeo.api.errors import STATUS_BY_ERROR, status_for
from gridgeo.errors import CoordinateError, FeatureError, NotFoundError, StoreError


@pytest.fixture(scope="module")
def client() -> TestClient:
    # the core's words for a bad coordinate, in English (tests/test_api_language.py: Chinese)
    return TestClient(create_app(), headers={"Accept-Language": "en"})


def test_health_reports_the_loaded_data(client: TestClient) -> None:
    data = client.get("/health").json()
    assert data["status"] == "ok"
    assert data["levels"] == {"city": 1, "district": 17, "street": 3, "community": 10, "grid": 48}
    assert data["workstations"] == 2


def test_landing_page_is_chinese_html(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200 and "城市网格化管理" in response.text


def test_lookup(client: TestClient) -> None:
    data = client.get("/v1/lookup", params={"lon": 110.3005, "lat": 25.2785}).json()
    assert data["grids"][0]["code"].startswith("450302001001")
    assert data["workstation"]["name"] == "文明社区城市管理工作站"


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"lon": 25.28, "lat": 110.29}, "swapped"),
        ({"lon": 110.3, "lat": 95}, "latitude"),
        ({"lon": 110.3, "lat": 25.3, "crs": "xyz"}, "xyz"),
    ],
)
def test_bad_lookup_is_400_with_message(
    client: TestClient, params: dict[str, object], fragment: str
) -> None:
    response = client.get("/v1/lookup", params=params)
    assert response.status_code == 400
    assert fragment in response.json()["detail"]


def test_missing_or_non_numeric_coordinates_are_422(client: TestClient) -> None:
    assert client.get("/v1/lookup", params={"lon": 110.3}).status_code == 422
    assert client.get("/v1/lookup", params={"lon": "abc", "lat": 25}).status_code == 422
    assert client.get("/v1/lookup", params={"lon": "nan", "lat": 25}).status_code in (400, 422)


def test_error_table_maps_each_domain_error() -> None:
    assert status_for(CoordinateError("x")) == 400
    assert status_for(FeatureError("f", "#1", "bad")) == 422
    assert status_for(NotFoundError("x")) == 404
    # every domain error is the client's (4xx) but the store out of reach (503, retry)
    assert status_for(StoreError("down")) == 503
    assert all(400 <= s < 500 for e, s in STATUS_BY_ERROR.items() if e is not StoreError)
