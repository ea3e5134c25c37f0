//! `square`: a request/reply function; each JSON number in gives its square out (`2` → `4`).
//! The reply keeps the request's headers. Serves on `GRPC_PORT` (default 8081).

use riff_function::{request_reply, serve, ServeError};

#[tokio::main]
async fn main() -> Result<(), ServeError> {
    serve(request_reply(riff_functions::square)).await
}
