"""Shadow-AI discovery on the browser path, end to end (issue 15): a host of the discovery list that the
catalogue does not know reaches the real proxy through the PAC and is decided as an unknown service,
blocked or warned by ``policy.unknown_service``, recorded with its host and counted; a host on neither
keeps today's answer. The fake AI web app is a real HTTPS server (``tests/browser_support.py``)."""

from __future__ import annotations

import ssl

import httpx
import pytest
import yaml

from gateway import metrics
from gateway.audit.query import Filters
from gateway.dpo.discovery import hosts_seen
from policies.catalogue import Catalogue, merge_services
from tests import test_browser_proxy as _proxy_tests

# the browser path's fixtures (fake apps, PKI, institution CA, gateway factory), shared with its tests
pki, apps, ca_dir, browser_factory = _proxy_tests.pki, _proxy_tests.apps, _proxy_tests.ca_dir, _proxy_tests.browser_factory


@pytest.fixture
def hosts_file(tmp_path, apps):
    path = tmp_path / "ai-hosts.yaml"
    path.write_text(yaml.safe_dump({"date": "2026-11-30", "sources": ["test"], "services": [
        {"id": "ia-externe", "name": "IA externe", "kind": "chat", "hosts": [f"127.0.0.1:{apps.outside.port}"]}]}))
    return path


def test_a_listed_ai_host_outside_the_catalogue_is_blocked_recorded_and_counted(browser_factory, db_url, hosts_file,
                                                                                apps):
    from pypac.parser import PACFile

    gw = browser_factory(db_url, discovery={"hosts_file": str(hosts_file)})
    pac = PACFile(httpx.get(gw.url + "/proxy.pac").text)
    url = f"https://127.0.0.1:{apps.outside.port}/api/chat"
    assert pac.find_proxy_for_url(url, "127.0.0.1") == f"PROXY 127.0.0.1:{gw.proxy_port}"  # the PAC sends it
    assert pac.find_proxy_for_url(f"https://localhost:{apps.outside.port}/", "localhost") == "DIRECT"
    before = metrics.UNKNOWN_AI.labels("ia-externe", "block")._value.get()
    with gw.client() as client, pytest.raises(httpx.ProxyError) as exc:
        client.post(url, json={"p": "bonjour"})
    assert "403" in str(exc.value)
    assert apps.outside.received == []
    (rec,) = gw.records(endpoint="connect")
    assert rec["decision"] == "block" and rec["rule_ids"] == ["service.unknown", "discovery.listed"]
    assert rec["service_id"] is None and rec["host"] == f"127.0.0.1:{apps.outside.port}" and rec["api"] == "web"
    assert "« IA externe » (assistant conversationnel)" in rec["reasons"][0]
    assert metrics.UNKNOWN_AI.labels("ia-externe", "block")._value.get() == before + 1
    seen = hosts_seen(gw.store, Filters(), gw.proxy.pipeline.discovery, Catalogue(merge_services([])))
    (host,) = seen.listed
    assert host.listed.id == "ia-externe" and host.count == 1 and host.clients == 1


def test_with_unknown_service_warn_the_listed_host_is_tunnelled_with_a_recorded_warning(browser_factory, tmp_path,
                                                                                        hosts_file, apps, pki):
    gw = browser_factory(f"sqlite:///{tmp_path / 'audit.db'}", discovery={"hosts_file": str(hosts_file)},
                         policy={"unknown_service": "warn"})
    app_ca = ssl.create_default_context(cafile=str(pki.upstream_ca_file))
    with gw.client(verify=app_ca) as client:  # tunnelled: the app's own certificate
        resp = client.post(f"https://127.0.0.1:{apps.outside.port}/translate", data={"texte": "bonjour"})
    assert resp.status_code == 200 and resp.json()["app"] == "outside"
    assert len(apps.outside.received) == 1
    (rec,) = gw.records(endpoint="connect")
    rec = gw.record(rec["id"], outcome=True)
    assert rec["decision"] == "warn" and rec["forwarded"] is True
    assert rec["rule_ids"] == ["service.unknown", "discovery.listed"] and rec["bytes_up"] > 0


def test_a_host_on_neither_the_catalogue_nor_the_list_is_refused_as_before(browser_factory, tmp_path, hosts_file,
                                                                          apps):
    gw = browser_factory(f"sqlite:///{tmp_path / 'audit.db'}", discovery={"hosts_file": str(hosts_file)},
                         policy={"unknown_service": "warn"})
    with gw.client() as client, pytest.raises(httpx.ProxyError):
        client.get(f"https://localhost:{apps.outside.port}/")
    (rec,) = gw.records(endpoint="connect")
    assert rec["decision"] == "block" and rec["rule_ids"] == ["service.unknown"]
    assert apps.outside.received == []
