//! `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`: downloads go through a `CONNECT` tunnel, hosts in
//! `NO_PROXY` are reached directly, and the proxy never sees the token.

use hub_api::{ClientBuilder, DownloadOptions, Proxy, Token};
use hub_cache::CacheDir;
use hub_tests::{ConnectProxy, seed};
use hub_url::Endpoint;

use crate::support::seeded;

fn authority(url: &str) -> String {
    url.trim_start_matches("http://").trim_end_matches('/').to_owned()
}

#[tokio::test]
async fn downloads_go_through_the_proxy_except_for_no_proxy_hosts() -> anyhow::Result<()> {
    let (hub, _seed) = seeded()?;
    let proxy = ConnectProxy::start()?;
    let cache = tempfile::tempdir()?;
    let via_proxy = Proxy { http: Some(proxy.url().to_owned()), ..Proxy::default() };
    let client = ClientBuilder::new(Endpoint::new(hub.endpoint())?)
        .token(Some(Token::new(seed::ALICE)?))
        .proxy(via_proxy.clone())
        .build()?;
    let options = DownloadOptions::new(CacheDir::new(cache.path().to_path_buf()));
    let path =
        client.hf_hub_download(&"acme/private-model".parse()?, "weights.bin", &options).await?;
    assert!(path.is_file());
    let targets: Vec<String> = proxy.tunnels().into_iter().map(|t| t.target).collect();
    assert!(targets.contains(&authority(hub.endpoint())), "{targets:?}");
    assert!(targets.contains(&authority(hub.cdn_url())), "{targets:?}");
    for tunnel in proxy.tunnels() {
        assert!(
            tunnel.headers.iter().all(|h| !h.starts_with("authorization:")),
            "the token stays inside the tunnel: {:?}",
            tunnel.headers
        );
    }

    // NO_PROXY: the CDN host is reached directly.
    let proxy = ConnectProxy::start()?;
    let cache = tempfile::tempdir()?;
    let client = ClientBuilder::new(Endpoint::new(hub.endpoint())?)
        .proxy(Proxy {
            http: Some(proxy.url().to_owned()),
            no_proxy: Some("127.0.0.2".to_owned()),
            ..Proxy::default()
        })
        .build()?;
    let options = DownloadOptions::new(CacheDir::new(cache.path().to_path_buf()));
    client.hf_hub_download(&"acme/tiny-model".parse()?, "weights.bin", &options).await?;
    let targets: Vec<String> = proxy.tunnels().into_iter().map(|t| t.target).collect();
    assert!(targets.contains(&authority(hub.endpoint())), "{targets:?}");
    assert!(!targets.contains(&authority(hub.cdn_url())), "{targets:?}");

    // A proxy that is down is a network error, not a hang or a direct connection.
    let dead = ConnectProxy::start()?;
    let dead_url = dead.url().to_owned();
    drop(dead);
    let client = ClientBuilder::new(Endpoint::new(hub.endpoint())?)
        .proxy(Proxy { http: Some(dead_url), ..Proxy::default() })
        .retry(crate::download::fast_retry())
        .build()?;
    assert!(client.whoami().await.is_err());
    Ok(())
}
