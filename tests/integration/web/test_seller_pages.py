"""A seller's DIDs, campaigns, campaign DIDs and routing through the pages."""
import pytest

from tests.support.pages import field_error


def test_a_did_is_added_in_national_format_and_stored_in_e164(seller, sql):
    response = seller.post("/dids", {"number": "(415) 555-0177", "region": "", "description": "New",
                                     "status": "active"})
    assert response.status_code == 302
    assert sql("SELECT seller_id FROM dids WHERE number = '+14155550177'") == [(3,)]


def test_a_bad_or_taken_number_is_refused_beside_the_field(seller, sql):
    html = seller.post("/dids", {"number": "12345", "status": "active"}).get_data(as_text=True)
    assert "Not a valid phone number" in field_error(html, "f-number")
    html = seller.post("/dids", {"number": "+12125550100", "status": "active"}).get_data(as_text=True)
    assert field_error(html, "f-number") == "Already on the platform."  # seller2's, not said
    assert sql("SELECT count(*) FROM dids") == [(5,)]


def test_campaign_life_cycle(seller, sql):
    response = seller.post("/campaigns", {"name": "Roofing", "description": "", "dial_timeout": "20",
                                          "status": "active"})
    assert response.status_code == 302
    campaign_id = sql("SELECT id FROM campaigns WHERE name = 'Roofing'")[0][0]
    assert response.headers["Location"] == f"/campaigns/{campaign_id}"
    seller.post("/dids", {"number": "+14155550177", "status": "active"})
    did_id = sql("SELECT id FROM dids WHERE number = '+14155550177'")[0][0]
    page = seller.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert f'<option value="{did_id}">+14155550177</option>' in page
    assert seller.post(f"/campaigns/{campaign_id}/dids", {"did_id": str(did_id)}).status_code == 302
    assert sql("SELECT campaign_id FROM campaign_dids WHERE did_id = :d", d=did_id) == [(campaign_id,)]
    response = seller.post(f"/campaigns/{campaign_id}/clients", {
        "client_id": "1", "forwarding_priority": "1", "weight": "100", "max_concurrency": "2",
        "total_calls_allowed": "", "status": "active"})
    assert response.status_code == 302
    setting_id, total = sql("SELECT id, total_calls_allowed FROM campaign_client_settings "
                            "WHERE campaign_id = :c", c=campaign_id)[0]
    assert total is None  # blank = unlimited
    response = seller.post(f"/campaigns/{campaign_id}/clients/{setting_id}", {
        "forwarding_priority": "2", "weight": "40", "max_concurrency": "3",
        "total_calls_allowed": "50", "status": "active"})
    assert response.status_code == 302
    assert sql("SELECT forwarding_priority, weight, max_concurrency, total_calls_allowed "
               "FROM campaign_client_settings WHERE id = :s", s=setting_id) == [(2, 40, 3, 50)]
    seller.post(f"/campaigns/{campaign_id}/dids/{did_id}/detach", {})
    assert sql("SELECT count(*) FROM campaign_dids WHERE did_id = :d", d=did_id) == [(0,)]
    seller.post(f"/campaigns/{campaign_id}/clients/{setting_id}/delete", {})
    seller.post(f"/campaigns/{campaign_id}/delete", {})
    assert sql("SELECT count(*) FROM campaigns WHERE id = :c", c=campaign_id) == [(0,)]


def test_campaign_form_errors_are_shown_beside_the_fields_and_nothing_is_saved(seller, sql):
    response = seller.post("/campaigns", {"name": "Roofing", "dial_timeout": "999", "status": "active"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Must be 5 to 120." in field_error(html, "f-dial-timeout")
    assert 'aria-describedby="f-dial-timeout-error f-dial-timeout-hint"' in html
    html = seller.post("/campaigns", {"name": "solar leads", "dial_timeout": "30",
                                      "status": "active"}).get_data(as_text=True)
    assert "Already used" in field_error(html, "f-name")
    assert sql("SELECT count(*) FROM campaigns") == [(3,)]


def test_a_routing_row_with_a_bad_value_shows_the_error_in_its_row(seller, sql):
    response = seller.post("/campaigns/1/clients/1", {
        "forwarding_priority": "1", "weight": "5000", "max_concurrency": "5",
        "total_calls_allowed": "1", "status": "active"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="s1-weight-error" data-error-for="weight">Must be 0 to 1000.' in html
    assert sql("SELECT weight, total_calls_allowed FROM campaign_client_settings WHERE id = 1") == [(70, 100)]
    response = seller.post("/campaigns/1/clients/1", {
        "forwarding_priority": "1", "weight": "70", "max_concurrency": "5",
        "total_calls_allowed": "1", "status": "active"})
    assert "Cannot be below the 2 calls" in response.get_data(as_text=True)


def test_the_campaign_page_shows_the_routing_table_in_failover_order(seller):
    html = seller.get("/campaigns/1").get_data(as_text=True)
    order = [html.index(name) for name in ("Acme Call Center", "Bluesky Contact", "Summit Sales Floor")]
    assert order == sorted(order)
    assert html.count('class="setting-form"') == 3


@pytest.mark.parametrize("url", ["/campaigns/3", "/dids/4", "/campaigns/3/clients/5"])
def test_another_sellers_rows_are_not_found(seller, sql, url):
    before = sql("SELECT count(*), sum(weight) FROM campaign_client_settings")
    method = seller.post if url.endswith("/5") else seller.get
    response = method(url, {"weight": "1"}) if method == seller.post else method(url)
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert sql("SELECT count(*), sum(weight) FROM campaign_client_settings") == before


@pytest.mark.parametrize("url", ["/campaigns/3/delete", "/campaigns/3/dids", "/campaigns/3/clients",
                                 "/campaigns/3/dids/4/detach", "/campaigns/3/clients/5/delete",
                                 "/dids/4/delete", "/dids/4"])
def test_another_sellers_rows_cannot_be_changed(seller, sql, url):
    tables = "(SELECT count(*) FROM campaigns), (SELECT count(*) FROM dids), " \
             "(SELECT count(*) FROM campaign_dids), (SELECT count(*) FROM campaign_client_settings)"
    before = sql(f"SELECT {tables}")
    response = seller.post(url, {"did_id": "5", "client_id": "1", "number": "+12125550199"})
    assert response.status_code == 404
    assert sql(f"SELECT {tables}") == before


def test_admins_cannot_use_seller_pages(pages):
    pages.login("admin")
    assert pages.get("/campaigns/1").status_code == 403
    assert pages.get("/dids").status_code == 403
