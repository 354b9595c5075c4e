//! Whether an SSH connection's logins failed, inferred from the sizes of its encrypted segments.
//!
//! A brute-force tool against SSH (hydra, patator, medusa) does not need many connections: the
//! server allows several password guesses per connection (OpenSSH's `MaxAuthTries`, 6 by default)
//! and answers each wrong one only after a delay (PAM's, about 2 s), so hydra with four tasks makes
//! about nine connections a minute (measured in the testbed against OpenSSH 9.2) — the rate of an
//! ordinary deploy script. What gives it away is inside the connections: every guess is answered
//! by the same message, `SSH_MSG_USERAUTH_FAILURE`, and encrypted messages keep their size.
//!
//! The heuristic is Zeek's (its SSH analyzer, and the `detect-bruteforcing` policy built on it):
//! once the client has sent encrypted data, the server's first encrypted segment is its
//! `SERVICE_ACCEPT` for `ssh-userauth`. `USERAUTH_SUCCESS` carries 16 bytes less payload, and
//! every cipher pads both to the same block multiple, so a later segment exactly 16 bytes shorter
//! is a successful login. Any other size first is the answer to the client's `none` probe (which
//! every client sends first and which always fails): that size is the failure size, and each later
//! segment of that size is one more rejected attempt. A pre-authentication banner, far larger, is
//! skipped once. After a success the connection is an interactive session and is not read further.
//! A segment of any other size once the failure size is known ends the counting (only a success
//! is still looked for): without it a success hidden in a segment it shared with the next message
//! would let every later session segment of the failure's size count as a rejected login.
//!
//! A client that skips the `none` probe (paramiko, so patator) has its first rejected guess read
//! as the probe's answer: a tool guessing once per connection shows no failures here, and the
//! brute-force detector's pace rule, which counts its many short connections, is what catches it.
//!
//! Known limits (Zeek's too): a server whose failure reply is exactly 16 bytes shorter than its
//! service accept is misread as a success; coalesced or retransmitted segments blur the count;
//! keyboard-interactive prompts are counted only when they happen to have the failure's size.

/// How far the client's side of the connection has got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SshPhase {
    /// Version strings and key exchange, in clear.
    #[default]
    Cleartext = 0,
    /// The client sent `SSH_MSG_NEWKEYS` alone in a segment: its next data is encrypted.
    ClientKeysSent = 1,
    /// The client has sent encrypted data: the server's segments are read.
    ClientEncrypted = 2,
    /// A server segment of neither the failure's nor the success's size came after the failure
    /// size was known (a public-key `PK_OK`, a keyboard-interactive prompt, or session data
    /// behind a success that shared its segment): failures are no longer counted, a success
    /// still is.
    PastFailures = 3,
    /// A login succeeded: nothing further is read.
    Decided = 4,
}

impl SshPhase {
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<SshPhase> {
        Some(match code {
            0 => SshPhase::Cleartext,
            1 => SshPhase::ClientKeysSent,
            2 => SshPhase::ClientEncrypted,
            3 => SshPhase::PastFailures,
            4 => SshPhase::Decided,
            _ => return None,
        })
    }
}

/// The login attempts of one SSH connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SshAuth {
    pub phase: SshPhase,
    /// Size of the server's first encrypted segment (`SERVICE_ACCEPT`); 0 until seen.
    pub service_accept_len: u16,
    /// Size of the server's answer to the `none` probe (`USERAUTH_FAILURE`); 0 until seen.
    pub failure_len: u16,
    /// A banner before the first failure was skipped.
    pub banner_skipped: bool,
    /// Rejected attempts after the `none` probe.
    pub failures: u16,
    /// A login succeeded.
    pub succeeded: bool,
}

/// `SSH_MSG_NEWKEYS` as a whole binary packet in clear (RFC 4253 §6, §7.3): packet length 12,
/// padding length 10, message number 21, then ten bytes of padding — 16 bytes in all.
const NEWKEYS_START: [u8; 6] = [0, 0, 0, 12, 10, 21];
const NEWKEYS_LEN: u32 = 16;

/// `USERAUTH_SUCCESS` is this much shorter than `SERVICE_ACCEPT` on the wire.
const SUCCESS_SHORTER_BY: u16 = 16;

/// A server segment this much larger than the service accept, before any failure, is a banner.
const BANNER_LARGER_BY: u16 = 256;

impl SshAuth {
    /// Account a client segment with payload: `head` is its first bytes, `len` its payload length.
    pub fn client_segment(&mut self, head: &[u8], len: u32) {
        match self.phase {
            SshPhase::Cleartext if head.starts_with(&NEWKEYS_START) => {
                // Encrypted data packed behind the NEWKEYS in the same segment counts at once.
                self.phase = if len > NEWKEYS_LEN {
                    SshPhase::ClientEncrypted
                } else {
                    SshPhase::ClientKeysSent
                };
            }
            SshPhase::ClientKeysSent => self.phase = SshPhase::ClientEncrypted,
            _ => {}
        }
    }

    /// Account a server segment with payload of `len` bytes.
    pub fn server_segment(&mut self, len: u32) {
        if !matches!(
            self.phase,
            SshPhase::ClientEncrypted | SshPhase::PastFailures
        ) {
            return;
        }
        // Authentication messages are small; a segment too large for u16 is session data.
        let Ok(len) = u16::try_from(len) else { return };
        let accept = self.service_accept_len;
        if accept == 0 {
            self.service_accept_len = len;
        } else if accept.checked_sub(len) == Some(SUCCESS_SHORTER_BY) {
            self.succeeded = true;
            self.phase = SshPhase::Decided;
        } else if self.failure_len == 0 {
            if !self.banner_skipped && len > accept.saturating_add(BANNER_LARGER_BY) {
                self.banner_skipped = true;
            } else {
                self.failure_len = len;
            }
        } else if self.phase == SshPhase::ClientEncrypted {
            if len == self.failure_len {
                self.failures = self.failures.saturating_add(1);
            } else {
                self.phase = SshPhase::PastFailures;
            }
        }
    }

    /// Rejected login attempts of a connection that never logged in (0 after a success: a client
    /// that tries its keys one by one before the right one is not guessing).
    pub fn failed_logins(&self) -> u16 {
        if self.succeeded {
            0
        } else {
            self.failures
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEWKEYS: [u8; 8] = [0, 0, 0, 12, 10, 21, 0, 0];

    /// A connection past key exchange: the client's NEWKEYS alone, then its service request.
    fn after_kex() -> SshAuth {
        let mut a = SshAuth::default();
        a.client_segment(b"SSH-2.0-", 21);
        a.server_segment(21); // server banner: ignored in clear
        a.client_segment(&NEWKEYS, 16);
        assert_eq!(a.phase, SshPhase::ClientKeysSent);
        a.client_segment(&[0x8a, 0x11, 0, 0, 0, 0, 0, 0], 44);
        assert_eq!(a.phase, SshPhase::ClientEncrypted);
        a
    }

    #[test]
    fn hydra_connection_counts_five_failures() {
        // Sizes measured from hydra (libssh) against OpenSSH 9.2 with chacha20-poly1305: service
        // accept 44, a failure 52 (the `none` probe's, then five wrong passwords), disconnect 76.
        let mut a = after_kex();
        for len in [44, 52, 52, 52, 52, 52, 52, 76] {
            a.server_segment(len);
        }
        assert_eq!((a.failures, a.succeeded), (5, false));
        assert_eq!(a.failed_logins(), 5);
    }

    #[test]
    fn login_sixteen_bytes_below_the_accept_succeeds_and_stops_reading() {
        // `none` fails (52), the password is accepted (28 = 44 − 16); the session's own segments,
        // some of them 52 bytes, are not failures.
        let mut a = after_kex();
        for len in [44, 52, 28, 52, 52, 100] {
            a.server_segment(len);
        }
        assert!(a.succeeded);
        assert_eq!(a.phase, SshPhase::Decided);
        assert_eq!((a.failures, a.failed_logins()), (0, 0));
    }

    #[test]
    fn wrong_keys_before_the_right_one_are_not_failed_logins() {
        let mut a = after_kex();
        for len in [44, 52, 52, 52, 28] {
            a.server_segment(len);
        }
        assert_eq!(a.failures, 2);
        assert_eq!(a.failed_logins(), 0);
    }

    #[test]
    fn a_large_banner_is_skipped_once() {
        let mut a = after_kex();
        for len in [44, 44 + 257, 52, 52] {
            a.server_segment(len);
        }
        assert!(a.banner_skipped);
        assert_eq!((a.failure_len, a.failures), (52, 1));
    }

    #[test]
    fn an_unexpected_size_ends_the_count_and_a_later_success_still_clears_it() {
        // Two keys refused, the third answered by `PK_OK` (140), then the signed login succeeds.
        let mut a = after_kex();
        for len in [44, 52, 52, 52, 140, 52, 52] {
            a.server_segment(len);
        }
        assert_eq!((a.phase, a.failures), (SshPhase::PastFailures, 2));
        a.server_segment(28);
        assert!(a.succeeded);
        assert_eq!(a.failed_logins(), 0);
        // A success that shared its segment with the next message is never seen: the session's
        // segments of the failure's size after it are not counted.
        let mut a = after_kex();
        for len in [44, 52, 28 + 120, 52, 52, 52, 36, 52] {
            a.server_segment(len);
        }
        assert_eq!(a.failed_logins(), 0);
    }

    #[test]
    fn server_data_before_the_clients_encrypted_data_is_not_read() {
        let mut a = SshAuth::default();
        a.client_segment(b"SSH-2.0-", 21);
        for len in [44, 52, 52] {
            a.server_segment(len);
        }
        assert_eq!(a, SshAuth::default());
        // Without a NEWKEYS in clear (a capture that began mid-connection) nothing is inferred.
        a.client_segment(&[1, 2, 3, 4, 5, 6, 7, 8], 44);
        a.server_segment(44);
        assert_eq!(a.service_accept_len, 0);
    }

    #[test]
    fn encrypted_data_behind_newkeys_in_one_segment_counts() {
        let mut a = SshAuth::default();
        a.client_segment(&NEWKEYS, 16 + 44);
        assert_eq!(a.phase, SshPhase::ClientEncrypted);
        a.server_segment(44);
        assert_eq!(a.service_accept_len, 44);
    }

    #[test]
    fn phase_codes_round_trip() {
        for c in 0..=4 {
            assert_eq!(SshPhase::from_code(c).unwrap().code(), c);
        }
        assert_eq!(SshPhase::from_code(5), None);
    }
}
