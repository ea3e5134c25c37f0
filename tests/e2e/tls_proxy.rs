//! Test support for TLS: certificates made at test time, and a TLS-terminating TCP proxy in
//! front of a broker whose listener only speaks plain TCP (tansu 0.6.0).

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{crypto::ring, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// A certificate authority made at test time.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    certificate: CertificateDer<'static>,
    pem: String,
}

impl Ca {
    /// A self-signed CA named `name`.
    pub fn new(name: &str) -> Ca {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let certificate = params.self_signed(&key).unwrap();
        Ca {
            pem: certificate.pem(),
            certificate: certificate.der().clone(),
            issuer: Issuer::new(params, key),
        }
    }

    /// The CA certificate, PEM-encoded (what `tls.caCert` and `ssl.ca.pem` hold).
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// A server certificate signed by this CA for `IP:127.0.0.1` and `DNS:localhost`, with its
    /// chain (server, CA) and key as rustls serves them.
    pub fn server(&self) -> ServerIdentity {
        let mut params =
            CertificateParams::new(["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, "broker");
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let certificate = params.signed_by(&key, &self.issuer).unwrap();
        ServerIdentity {
            chain: vec![certificate.der().clone(), self.certificate.clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        }
    }
}

/// A server's certificate chain and private key.
pub struct ServerIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

/// A TLS-terminating proxy on a loopback port: each connection, once its TLS handshake is done,
/// is forwarded as plain TCP to an upstream address. It runs on its own Tokio runtime (the
/// tests block theirs while they wait for riff), stopped when dropped.
pub struct TlsProxy {
    port: u16,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TlsProxy {
    /// A free loopback port, bound now, for [`TlsProxy::start`]: a broker can be told to
    /// advertise it before the proxy knows the broker's address.
    pub fn listener() -> TcpListener {
        TcpListener::bind("127.0.0.1:0").unwrap()
    }

    /// Serves TLS as `identity` on `listener`, forwarding to `upstream` (`host:port`).
    pub fn start(listener: TcpListener, identity: ServerIdentity, upstream: &str) -> TlsProxy {
        let port = listener.local_addr().unwrap().port();
        let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(identity.chain, identity.key)
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tls-proxy")
            .enable_all()
            .build()
            .unwrap();
        listener.set_nonblocking(true).unwrap();
        let upstream = upstream.to_owned();
        // A client that does not trust the certificate retries many times a second.
        let failed_handshake = Arc::new(AtomicBool::new(false));
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
                let failed_handshake = failed_handshake.clone();
                tokio::spawn(async move {
                    let mut client = match acceptor.accept(client).await {
                        Ok(client) => client,
                        // An untrusting client aborts the handshake: nothing to forward.
                        Err(error) => {
                            if !failed_handshake.swap(true, Ordering::Relaxed) {
                                eprintln!("tls proxy: handshake failed (said once): {error}");
                            }
                            return;
                        }
                    };
                    let Ok(mut broker) = tokio::net::TcpStream::connect(&upstream).await else {
                        return eprintln!("tls proxy: {upstream} refused the connection");
                    };
                    _ = tokio::io::copy_bidirectional(&mut client, &mut broker).await;
                });
            }
        });
        TlsProxy {
            port,
            runtime: Some(runtime),
        }
    }

    /// `host:port` for `bootstrapServers`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which a test's own runtime forbids.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
