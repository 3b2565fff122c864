from tests.portal.conftest import editor_fields, listing_named, page_errors


def test_pages_render(provider):
    for url in [
        "/portal/",
        "/portal/listings/new",
        "/portal/listings/new/bhcc",
        "/portal/certifications",
        "/portal/certifications/new",
    ]:
        resp = provider.get(url)
        assert resp.status_code == 200, (url, resp.get_data(as_text=True)[:2000])
    lst = listing_named("Community Behavioral Health Liaison — Central")
    for url in [f"/portal/listings/{lst.id}", f"/portal/listings/{lst.id}/edit"]:
        resp = provider.get(url)
        assert resp.status_code == 200, (url, resp.get_data(as_text=True)[:3000])
    fields = editor_fields(provider, lst.id)
    resp = provider.post(f"/portal/listings/{lst.id}/edit", data=fields)
    assert resp.status_code == 302, page_errors(resp.get_data(as_text=True))
