//! The client-auth decision: what the handshakes without a client certificate prove about the server's
//! policy (none, optional, required, unknown). Pure functions of the facts the handshakes gathered.

use crate::model::ClientAuth;

/// What the handshakes without a client certificate showed about client authentication.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthFacts {
    /// A handshake got a ServerHello for the version it offered.
    pub accepted: bool,
    /// A handshake completed.
    pub completed: bool,
    /// The server sent a CertificateRequest.
    pub requested: bool,
    /// PING got a Redis reply without a certificate.
    pub answered_without_cert: bool,
    /// The server alerted, closed or reset when we went on without a certificate.
    pub refused_without_cert: bool,
}

/// The client-auth policy the handshakes prove. "Never asked" needs a completed handshake: a server that
/// stopped early might have asked later.
pub fn decide_client_auth(f: &AuthFacts) -> ClientAuth {
    if !f.accepted {
        ClientAuth::Unknown
    } else if !f.requested {
        if f.completed { ClientAuth::None } else { ClientAuth::Unknown }
    } else if f.answered_without_cert {
        ClientAuth::Optional
    } else if f.refused_without_cert {
        ClientAuth::Required
    } else {
        ClientAuth::Unknown
    }
}

/// Completes an unknown policy from the raw probe's clear-text TLS ≤ 1.2 flight, for servers rustls could
/// not finish a handshake with: a complete flight with or without a CertificateRequest.
pub fn with_raw_flight(policy: ClientAuth, raw_request: Option<bool>) -> ClientAuth {
    match (policy, raw_request) {
        (ClientAuth::Unknown, Some(true)) => ClientAuth::Requested,
        (ClientAuth::Unknown, Some(false)) => ClientAuth::None,
        (p, _) => p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_auth_decision() {
        let f = |accepted, completed, requested, answered, refused| AuthFacts {
            accepted,
            completed,
            requested,
            answered_without_cert: answered,
            refused_without_cert: refused,
        };
        assert_eq!(decide_client_auth(&f(false, false, false, false, false)), ClientAuth::Unknown);
        assert_eq!(decide_client_auth(&f(true, true, false, true, false)), ClientAuth::None);
        assert_eq!(decide_client_auth(&f(true, false, false, false, false)), ClientAuth::Unknown);
        assert_eq!(decide_client_auth(&f(true, true, true, true, false)), ClientAuth::Optional);
        assert_eq!(decide_client_auth(&f(true, true, true, false, true)), ClientAuth::Required);
        assert_eq!(decide_client_auth(&f(true, false, true, false, true)), ClientAuth::Required);
        assert_eq!(decide_client_auth(&f(true, true, true, false, false)), ClientAuth::Unknown);
        assert_eq!(with_raw_flight(ClientAuth::Unknown, Some(true)), ClientAuth::Requested);
        assert_eq!(with_raw_flight(ClientAuth::Unknown, Some(false)), ClientAuth::None);
        assert_eq!(with_raw_flight(ClientAuth::Unknown, None), ClientAuth::Unknown);
        assert_eq!(with_raw_flight(ClientAuth::Required, Some(false)), ClientAuth::Required);
    }
}
