"""The rehearsal's account-host proxy: S3 Control calls reach moto, nothing else is forwarded."""

from __future__ import annotations

import urllib.error
import urllib.request

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer
from support.emulator import free_port
from support.host_proxy import AccountHostProxy, target_host


def test_only_account_hosts_of_the_loopback_endpoint_are_forwarded():
    assert target_host("123456789012.127.0.0.1", "eu-west-1") == (
        "123456789012.s3-control.eu-west-1.amazonaws.com"
    )
    for host in ("127.0.0.1", "example.com", "123456789012.example.com", "1234.127.0.0.1"):
        assert target_host(host, "us-east-1") is None, host


@pytest.fixture
def emulated(monkeypatch):
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    proxy = AccountHostProxy(port, "us-east-1").start()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "HTTP_PROXY": proxy.url,
        "NO_PROXY": "127.0.0.1,localhost",
    }.items():
        monkeypatch.setenv(name, value)
    yield port, proxy
    proxy.stop()
    server.stop()


def test_s3_control_reaches_the_emulator_through_the_proxy(emulated):
    port, proxy = emulated
    # botocore, unlike Go, bypasses an environment proxy for any host ending in a NO_PROXY
    # entry; an explicit proxy is used whatever the host.
    s3control = boto3.client(
        "s3control",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        config=Config(proxies={"http": proxy.url}),
    )
    config = {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    s3control.put_public_access_block(
        AccountId="123456789012", PublicAccessBlockConfiguration=config
    )
    got = s3control.get_public_access_block(AccountId="123456789012")
    assert got["PublicAccessBlockConfiguration"] == config
    assert proxy.forwarded == 2


def test_any_other_host_is_refused(emulated):
    _, proxy = emulated
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy.url}))
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open("http://example.com/", timeout=10)
    assert refused.value.code == 502
    assert proxy.forwarded == 0
