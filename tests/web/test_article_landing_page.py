from __future__ import annotations

from fastapi.testclient import TestClient

from nurture.channel import Channel
from nurture.config import Settings
from nurture.consent.wording import WORDING
from tests.factories import ARTICLE
from tests.web.page_parsing import form_fields, label_texts, text_by_id


def test_landing_page_labels_both_consent_boxes_with_the_exact_wording(
    client: TestClient, settings: Settings
) -> None:
    response = client.get(f"/articles/{ARTICLE}")
    assert response.status_code == 200
    labels = label_texts(response.text)
    assert labels["consent_email"] == WORDING[Channel.EMAIL].text(settings.clinic_name)
    assert labels["consent_sms"] == WORDING[Channel.SMS].text(settings.clinic_name)
    assert form_fields(response.text) == {
        "first_name": "",
        "email": "",
        "phone": "",
        "timezone": "",
        "consent_email": False,
        "consent_sms": False,
        "website": "",  # the honeypot, off-screen
        "language": "en",  # the page's own language: the lead is written to in it
    }


def test_landing_page_shows_the_article_title_and_fills_the_time_zone_in_the_browser(
    client: TestClient,
) -> None:
    page = client.get(f"/articles/{ARTICLE}").text
    assert "Tight Hamstrings and Pain Behind the Knee" in page
    assert "Stretching every day but your hamstrings still feel tight" in page
    assert 'type="hidden" id="timezone" name="timezone"' in page
    assert "Intl.DateTimeFormat().resolvedOptions().timeZone" in page
    assert f'action="/articles/{ARTICLE}/download"' in page


def test_every_page_names_the_clinic_in_the_header_and_its_address_in_the_footer(
    client: TestClient, settings: Settings
) -> None:
    page = client.get(f"/articles/{ARTICLE}").text
    header = page.split("<main", 1)[0]
    footer = page.split("</main>", 1)[1]
    assert settings.clinic_name in header
    assert settings.clinic_address in footer
    assert "(217) 555-0142" in footer


def test_unknown_article_shows_a_not_found_page(client: TestClient, settings: Settings) -> None:
    response = client.get("/articles/no-such-guide")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "We could not find that article." in response.text
    assert settings.clinic_name in response.text


def test_unknown_url_shows_a_not_found_page_not_json(client: TestClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert text_by_id(response.text, "main").startswith("Page not found")


def test_home_page_leads_to_the_first_articles_landing_page(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["location"] == f"/articles/{ARTICLE}"


def test_stylesheet_is_served(client: TestClient) -> None:
    response = client.get("/static/site.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "max-width: 40rem" in response.text


def test_pages_tell_browsers_not_to_pass_their_address_to_other_sites(
    client: TestClient,
) -> None:
    response = client.get(f"/articles/{ARTICLE}")
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"


def test_article_page_thanks_the_reader_only_after_a_download(client: TestClient) -> None:
    welcomed = client.get(f"/articles/{ARTICLE}/read?welcome=1").text
    plain = client.get(f"/articles/{ARTICLE}/read").text
    assert "Thank you!" in welcomed
    assert "Thank you!" not in plain
    assert "<h2>What the tightness feels like</h2>" in plain


def test_unknown_webhook_url_answers_json_for_the_provider(client: TestClient) -> None:
    response = client.post("/webhooks/nobody")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
