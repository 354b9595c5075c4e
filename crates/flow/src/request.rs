//! Injection in an HTTP request's parameters: SQL where a value is expected (SQL injection) or
//! markup and script (cross-site scripting), in the query string or a form body, as libinjection
//! recognises them — the tokenizer that ModSecurity's and Coraza's injection rules run on
//! (`libinjectionrs`, a Rust port of it); and the server-side exploits of `exploit.rs` in
//! the parameters, the path and the headers (command and code injection, path traversal).
//!
//! Why this is in the flow crate: a web attack's evidence is in the text of its requests, which
//! no flow feature describes. One SQL injection request is a flow like any other GET (nDPI's
//! `sql_injection.pcap` is one), and a classifier trained on one network's web attacks does not
//! recognise another network's (CIC → testbed: none of sqlmap's requests flagged). Like the
//! connection's [`crate::opening::Opening`], the finding is a fact read from the packet while its
//! bytes are at hand — only a request's first segment, once — so nothing of the payload is kept;
//! the detector turns it into a verdict.

use crate::opening::{Opening, PayloadHead};

/// What a request's parameters carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Injection {
    /// SQL syntax in a parameter value.
    Sql,
    /// HTML or script that would run in a page that echoed the value.
    Script,
    /// A shell command spliced into a value or a path, or a Bash function in a header
    /// (Shellshock).
    Command,
    /// Code for the server's interpreter: a PHP call, a Log4j JNDI lookup, an OGNL expression.
    Code,
    /// A path that climbs out of the web root or names a system file.
    Traversal,
}

impl Injection {
    /// The canonical label of the web attack this injection is (`crates/dataset/labels.csv`),
    /// whichever stage names it.
    pub fn label(self) -> &'static str {
        match self {
            Injection::Sql => "SQL Injection",
            Injection::Script => "Brute Force -XSS",
            Injection::Command => "Command Injection",
            Injection::Code => "Code Injection",
            Injection::Traversal => "Path Traversal",
        }
    }

    /// Whether `label` is an attack only the payload stage names (command and code injection, path
    /// traversal): no training source labels them apart from a testbed scenario of exploit
    /// requests, and what identifies them is their text, so the flow classifier leaves their rows
    /// out (`mlids_train`'s model scope). SQL injection and XSS are the CIC releases' classes and
    /// stay.
    pub fn named_by_text_only(label: &str) -> bool {
        [Injection::Command, Injection::Code, Injection::Traversal]
            .iter()
            .any(|i| i.label() == label)
    }

    /// What the requests carried, as a noun for evidence ("requests inject SQL").
    pub fn what(self) -> &'static str {
        match self {
            Injection::Sql => "SQL",
            Injection::Script => "script",
            Injection::Command => "shell commands",
            Injection::Code => "interpreter code",
            Injection::Traversal => "paths out of the web root",
        }
    }

    /// A stable small code (0 is none), for the bus.
    pub fn code(this: Option<Injection>) -> u8 {
        match this {
            None => 0,
            Some(Injection::Sql) => 1,
            Some(Injection::Script) => 2,
            Some(Injection::Command) => 3,
            Some(Injection::Code) => 4,
            Some(Injection::Traversal) => 5,
        }
    }

    pub fn from_code(code: u8) -> Option<Injection> {
        match code {
            1 => Some(Injection::Sql),
            2 => Some(Injection::Script),
            3 => Some(Injection::Command),
            4 => Some(Injection::Code),
            5 => Some(Injection::Traversal),
            _ => None,
        }
    }
}

/// Bytes of a segment read for parameters: the request line and headers, and as much of a form
/// body as the segment holds. A longer request line is cut there (still read, not skipped).
const MAX_READ: usize = 8192;

/// The injection in the parameters of the HTTP request that starts `segment`, if any. `None` too
/// for a segment that does not start an HTTP/1.x request.
pub fn injection_in(segment: &[u8]) -> Option<Injection> {
    let head = PayloadHead::of(segment);
    if Opening::of(head.as_bytes(), segment.len() as u32) != Opening::HttpRequest {
        return None;
    }
    inspect_request(segment, segment.len() as u32).injection
}

/// What the payload stage learns from the HTTP request that starts a segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RequestFacts {
    /// The injection in its parameters (query, or a posted form body), or the server-side exploit
    /// in its path, headers or other body ([`crate::exploit`]), if any.
    pub injection: Option<Injection>,
    /// Whether the request was read in full, so that no injection found means none was there:
    /// every byte captured and within [`MAX_READ`], the header block ends in the segment, and the
    /// body it declares (`Content-Length`, 0 without one) is there too. Where this holds and no
    /// injection was found, the request's parameters (query and form fields) carried none — the
    /// fact that lets the detector rule out the classifier's SQL injection and XSS labels for a
    /// flow of such requests (`mlids_model::applicable`). A body that is no form (JSON, XML, a
    /// file), a chunked body, a body continued in later segments, a snap length that cut the
    /// segment, a second request pipelined into the segment or a request longer than the read are
    /// not read in full.
    pub read_in_full: bool,
}

/// [`injection_in`] and whether the request was read in full, for a segment already known to open
/// as an HTTP request (the decoder has classified its opening and does not do it twice);
/// `payload_len` is the segment's length on the wire. The header block is parsed once for both;
/// the exploit checks read its lines again only when a brace is in them ([`exploit_in_headers`]).
pub(crate) fn inspect_request(segment: &[u8], payload_len: u32) -> RequestFacts {
    let captured_whole = segment.len() == payload_len as usize && segment.len() <= MAX_READ;
    let segment = &segment[..segment.len().min(MAX_READ)];
    let line_end = find(segment, b"\n").unwrap_or(segment.len());
    let mut line = segment[..line_end].split(|&b| b == b' ');
    let (Some(method), Some(target)) = (line.next(), line.next()) else {
        return RequestFacts::default();
    };
    let post = method == b"POST";
    let head = Head::of(segment);
    let (path, query) = match target.iter().position(|&b| b == b'?') {
        Some(q) => (&target[..q], Some(&target[q + 1..])),
        None => (target, None),
    };
    let injection = query
        .and_then(injection_in_params)
        .or_else(|| {
            // A posted form's fields are parameters; any other body gets the checks for code
            // sent as data.
            head.and_then(|h| {
                if post && h.form {
                    injection_in_params(h.body)
                } else {
                    crate::exploit::in_body(h.body)
                }
            })
        })
        .or_else(|| crate::exploit::in_path(path))
        .or_else(|| exploit_in_headers(&segment[line_end.min(segment.len())..]));
    let read_in_full = captured_whole && head.is_some_and(|h| h.body_read(post));
    RequestFacts {
        injection,
        read_in_full,
    }
}

/// The parts of a request's header block the two questions need, from one pass over its lines.
#[derive(Clone, Copy)]
struct Head<'a> {
    /// What follows the header block in the segment.
    body: &'a [u8],
    /// The body length declared by `Content-Length` (0 without one).
    declared: usize,
    /// A `Content-Length` that is no number, or a `Transfer-Encoding`: the body's end is unknown.
    length_unknown: bool,
    /// A `Content-Type` naming a form.
    form: bool,
}

impl<'a> Head<'a> {
    /// `None` when the header block does not end in the segment.
    fn of(segment: &'a [u8]) -> Option<Head<'a>> {
        let end = find(segment, b"\r\n\r\n")?;
        let mut head = Head {
            body: &segment[end + 4..],
            declared: 0,
            length_unknown: false,
            form: false,
        };
        for (name, value) in segment[..end].split(|&b| b == b'\n').filter_map(header) {
            if name.eq_ignore_ascii_case(b"transfer-encoding") {
                head.length_unknown = true;
            } else if name.eq_ignore_ascii_case(b"content-length") {
                match std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()) {
                    Some(n) => head.declared = n,
                    None => head.length_unknown = true,
                }
            }
            head.form |= is_form_type(name, value);
        }
        Some(head)
    }

    /// Whether the body the head declares is all there and was read for parameters. More bytes
    /// than declared: a pipelined request follows, whose parameters were not read. A body is read
    /// only when it is a form posted (JSON, XML, files and the bodies of other methods are not
    /// parsed).
    fn body_read(&self, post: bool) -> bool {
        !self.length_unknown
            && self.body.len() == self.declared
            && (self.declared == 0 || (self.form && post))
    }
}

/// A server-side exploit delivered in a header value ([`crate::exploit::in_header`]), in the
/// header lines that follow the request line (up to the blank line, or the end of the segment).
fn exploit_in_headers(headers: &[u8]) -> Option<Injection> {
    // Each exploit checked in a header opens a brace (`${jndi:`, `%{(#`, `() {`): one pass over
    // the bytes passes the ordinary request. Measured on the seed-1 testbed capture (~40 k flood
    // requests), `extract` took 6–8% more user CPU with the exploit checks before this gate and
    // the plain-path one in `exploit::in_path`, no more than the run-to-run noise (±5%) after.
    if !headers.contains(&b'{') {
        return None;
    }
    let block = find(headers, b"\r\n\r\n").map_or(headers, |end| &headers[..end]);
    block
        .split(|&b| b == b'\n')
        .filter_map(header)
        .find_map(|(_, value)| crate::exploit::in_header(value))
}

/// A header line's name and trimmed value (`None` for a line without a colon). Compared in place
/// by the callers, no copy per line.
fn header(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|&b| b == b':')?;
    Some((&line[..colon], line[colon + 1..].trim_ascii()))
}

/// A `Content-Type` header naming a form (header names and media types are case-insensitive).
fn is_form_type(name: &[u8], value: &[u8]) -> bool {
    const FORM: &[u8] = b"application/x-www-form-urlencoded";
    name.eq_ignore_ascii_case(b"content-type") && contains_ignore_case(value, FORM)
}

/// Each value (and name) of `a=1&b=2`, decoded (`+` and `%XX`), through libinjection's SQL and
/// XSS detectors, then the server-side exploit checks.
fn injection_in_params(params: &[u8]) -> Option<Injection> {
    form_urlencoded::parse(params).find_map(|(name, value)| {
        [name, value]
            .iter()
            .find_map(|text| injection_in_text(text))
    })
}

fn injection_in_text(text: &str) -> Option<Injection> {
    let bytes = text.as_bytes();
    if !could_inject(bytes) {
        return None;
    }
    if libinjectionrs::detect_sqli(bytes).is_injection() || breaks_a_number_with_a_quote(bytes) {
        Some(Injection::Sql)
    } else if opens_script_tag(bytes) || libinjectionrs::detect_xss(bytes).is_injection() {
        Some(Injection::Script)
    } else {
        crate::exploit::in_value(bytes)
    }
}

/// A `<script` tag anywhere in the value. libinjection's HTML tokenizer reads the nested-tag
/// evasion `<scr<script>ipt>alert(1)</scr</script>ipt>` as one tag named `scr<script` and passes it
/// (measured: 3 of 24 requests of the testbed's XSS scenario, seed 6, went to the classifier,
/// which missed them); a filter that strips `<script>` once leaves the working tag behind. The
/// string `<script` has no business in a form value, so its mere presence is the evidence, as in
/// the common WAF rules.
fn opens_script_tag(value: &[u8]) -> bool {
    contains_ignore_case(value, b"<script")
}

/// A number closed by a stray quote, `1'` or `7"` alone or before SQL punctuation (`1' --`,
/// `1')`): the error-based probe every injection tool and tutorial starts with, which breaks the
/// statement the number was pasted into. libinjection passes it (a number and an unterminated
/// string are no SQL fingerprint of its list); it is the probe CIC-IDS2017's SQL injection run
/// sends on 2 of its 9 flows (`ndpi_WebattackSQLinj.pcap`, `id=1%27`). Names and measures are not
/// it: `O'Reilly` starts with a letter, `5'10"` goes on with a digit.
fn breaks_a_number_with_a_quote(value: &[u8]) -> bool {
    let digits = value.iter().take_while(|b| b.is_ascii_digit()).count();
    digits > 0
        && matches!(value.get(digits), Some(b'\'' | b'"'))
        && value
            .get(digits + 1)
            .is_none_or(|b| b.is_ascii_whitespace() || b");#-/".contains(b))
}

/// Whether a value has anything SQL or markup is made of beyond one word: whitespace, a quote, an
/// operator, a bracket, a comment. A value of letters, digits, `_` and `.` only (ids, page numbers,
/// the random keys of HTTP flood tools) is one token to either tokenizer and never an injection,
/// so it skips them: measured on the seed-1 testbed capture (its floods send ~40 k requests with
/// such parameters), extraction took 0.24 s of CPU before this stage, 0.32 s with it unfiltered.
fn could_inject(value: &[u8]) -> bool {
    value
        .iter()
        .any(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'.'))
}

/// Where `needle` first occurs in `haystack` (the byte search of this module and of
/// [`crate::exploit`]).
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Whether `needle` occurs in `haystack`, ASCII case ignored.
pub(crate) fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(target: &str) -> Vec<u8> {
        format!("GET {target} HTTP/1.1\r\nHost: victim\r\nUser-Agent: t\r\n\r\n").into_bytes()
    }

    #[test]
    fn sql_in_a_query_value_is_sql_injection() {
        // DVWA's classic, as nDPI's sql_injection.pcap sends it (percent- and plus-encoded).
        let r = get("/dvwa/vulnerabilities/sqli/?id=%27+UNION+SELECT+user%2C+password+FROM+users%23&Submit=Submit");
        assert_eq!(injection_in(&r), Some(Injection::Sql));
        // sqlmap's boolean-based probe.
        let r = get("/item.php?id=1%20AND%208431%3D8431");
        assert_eq!(injection_in(&r), Some(Injection::Sql));
        // The error-based quote probe, as CIC-IDS2017's run sends it, and its variants.
        for probe in ["1%27", "1%27+--+", "12%22", "3%27%29"] {
            let r = get(&format!(
                "/dv/vulnerabilities/sqli/?id={probe}&Submit=Submit"
            ));
            assert_eq!(injection_in(&r), Some(Injection::Sql), "{probe}");
        }
        assert!(!libinjectionrs::detect_sqli(b"1'").is_injection());
    }

    #[test]
    fn script_in_a_query_value_is_cross_site_scripting() {
        let r = get("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
        assert_eq!(injection_in(&r), Some(Injection::Script));
        let r = get("/p?name=%3Cimg+src%3Dx+onerror%3Dalert(1)%3E");
        assert_eq!(injection_in(&r), Some(Injection::Script));
        // The nested-tag evasion, which libinjection alone passes.
        let evasion = "%3cscr%3cscript%3eipt%3ealert%281%29%3c%2fscr%3c%2fscript%3eipt%3e";
        assert!(
            !libinjectionrs::detect_xss(b"<scr<script>ipt>alert(1)</scr</script>ipt>")
                .is_injection()
        );
        assert_eq!(
            injection_in(&get(&format!("/search.php?q={evasion}"))),
            Some(Injection::Script)
        );
        let r = get("/s?q=%3CSCRIPT%20src%3D%2F%2Fevil%3E");
        assert_eq!(injection_in(&r), Some(Injection::Script));
    }

    #[test]
    fn a_request_is_read_in_full_when_its_headers_and_declared_body_are_in_the_segment() {
        let full = |r: &[u8]| inspect_request(r, r.len() as u32).read_in_full;
        assert!(full(&get("/search.php?q=lamp")));
        let post = b"POST /guestbook.php HTTP/1.1\r\nHost: v\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 26\r\n\r\nname=guest&comment=Hello+!";
        assert!(full(post));
        // The body continues in the next segment (curl sends a large form body after the headers).
        let cut = &post[..post.len() - 3];
        assert!(!full(cut));
        // The same form sent with PUT: only a POST's body is parsed for parameters.
        let put = [b"PUT".as_slice(), &post[4..]].concat();
        assert!(!full(&put));
        // A JSON body: not parsed for parameters, so not read.
        let json = b"POST /api/v4/users/login HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"id\":\"1'\"}";
        assert!(!full(json));
        // A second request pipelined behind the first: its parameters were not read.
        let pipelined = [get("/a?q=1"), get("/b?q=%27+OR+1%3D1")].concat();
        assert!(!full(&pipelined));
        // Headers continue in the next segment.
        assert!(!full(b"GET /a HTTP/1.1\r\nHost: v\r\n"));
        // A chunked body, an unreadable length.
        assert!(!full(
            b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nq=1;\r\n0\r\n\r\n"
        ));
        assert!(!full(b"POST /a HTTP/1.1\r\nContent-Length: x\r\n\r\n"));
        // The capture's snap length kept fewer bytes than the segment carried.
        let r = get("/search.php?q=lamp");
        assert!(!inspect_request(&r, r.len() as u32 + 100).read_in_full);
    }

    #[test]
    fn ordinary_parameters_are_no_injection() {
        for target in [
            "/",
            "/index.html",
            "/search?q=select+a+book&lang=en",
            "/u?name=O%27Reilly&email=john.doe%40example.com",
            "/size?height=5%2710%22&note=it%27s+1%27st",
            "/q?s=1990%27s+music",
            "/cal?from=2024-01-01&to=2024-12-31&page=2",
            "/api/v1/items?ids=1,2,3&sort=-date",
            "/login?user=admin&next=%2Fhome",
        ] {
            assert_eq!(injection_in(&get(target)), None, "{target}");
        }
    }

    #[test]
    fn a_form_body_is_read_only_for_a_form_post() {
        let body = "user=admin&pass=%27+OR+%271%27%3D%271";
        let post = |ctype: &str| {
            format!(
                "POST /login HTTP/1.1\r\nHost: v\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        };
        assert_eq!(
            injection_in(&post("application/x-www-form-urlencoded")),
            Some(Injection::Sql)
        );
        assert_eq!(injection_in(&post("text/plain")), None);
    }

    #[test]
    fn what_is_not_an_http_request_is_not_read() {
        assert_eq!(injection_in(b""), None);
        assert_eq!(injection_in(b"HTTP/1.1 200 OK\r\n\r\n?id=1 OR 1=1"), None);
        assert_eq!(injection_in(b"\x16\x03\x01\x00\x05hello"), None);
        // Cut-off request line: read what is there.
        assert_eq!(
            injection_in(b"GET /?id=1%20OR%201%3D1"),
            Some(Injection::Sql)
        );
        // Bytes that are not UTF-8 are decoded lossily, never a panic.
        assert_eq!(injection_in(b"GET /?a=%FF%FE\xff HTTP/1.1\r\n\r\n"), None);
    }

    #[test]
    fn one_word_values_are_not_read_and_anything_more_is() {
        for v in ["", "1", "abc", "page_2", "v1.2.3", "ABCDEFGH1234"] {
            assert!(!could_inject(v.as_bytes()), "{v}");
        }
        for v in [
            "1 OR 1", "1'", "1;", "a-b", "<b>", "f(x)", "1/**/", "x=1", "a\tb",
        ] {
            assert!(could_inject(v.as_bytes()), "{v}");
        }
    }

    #[test]
    fn codes_round_trip() {
        for i in [
            None,
            Some(Injection::Sql),
            Some(Injection::Script),
            Some(Injection::Command),
            Some(Injection::Code),
            Some(Injection::Traversal),
        ] {
            assert_eq!(Injection::from_code(Injection::code(i)), i);
        }
    }
}
