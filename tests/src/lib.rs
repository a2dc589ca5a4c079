//! What the end-to-end tests share: an axum router served on 127.0.0.1 over
//! real HTTP, from a thread of its own, until stopped or dropped.

use std::net::SocketAddr;
use std::thread::JoinHandle;

/// A router served on `127.0.0.1:0`; stopped gracefully when dropped.
#[derive(Debug)]
pub struct Served {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Served {
    /// Serves `app` (with the client's address available to handlers).
    ///
    /// # Panics
    /// If no port can be bound or the runtime cannot start.
    #[must_use]
    pub fn start(app: axum::Router) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("the bound address");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .expect("serve");
            });
        });
        Self {
            url: format!("http://{addr}"),
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// Stops serving and waits for the server's thread.
    ///
    /// # Panics
    /// If the server's thread panicked.
    pub fn stop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().expect("the server's thread");
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
