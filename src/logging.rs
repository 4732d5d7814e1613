//! What askdesk logs never carries a customer's e-mail address or a card number, whatever
//! the message: every line written to stderr goes through [`mask`] ([`MaskedStderr`] is the
//! tracing writer of the binary), so a customer's text quoted in an error is masked too.

use std::borrow::Cow;
use std::io::Write;

const EMAIL_MASK: &str = "<email>";
const CARD_MASK: &str = "<card number>";

/// `text` with e-mail addresses and card-like numbers (13 to 19 digits, spaces or dashes
/// between groups allowed, passing the Luhn check) replaced.
pub fn mask(text: &str) -> Cow<'_, str> {
    let emails = mask_emails(text);
    match mask_cards(&emails) {
        Cow::Borrowed(_) => emails,
        Cow::Owned(masked) => Cow::Owned(masked),
    }
}

fn is_local_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

fn is_domain_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '-')
}

fn mask_emails(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    for (at, _) in text.match_indices('@') {
        if at < copied {
            continue;
        }
        let start = text[copied..at]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| is_local_char(c))
            .last()
            .map_or(at, |(i, _)| copied + i);
        let domain_len: usize = text[at + 1..]
            .chars()
            .take_while(|&c| is_domain_char(c))
            .map(char::len_utf8)
            .sum();
        let domain = text[at + 1..at + 1 + domain_len].trim_end_matches(['.', '-']);
        let is_email = start < at && domain.contains('.') && !domain.starts_with('.');
        if is_email {
            out.push_str(&text[copied..start]);
            out.push_str(EMAIL_MASK);
            copied = at + 1 + domain.len();
        }
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

fn mask_cards(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let (mut copied, mut i) = (0, 0);
    while i < bytes.len() {
        let starts_run =
            bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric());
        if !starts_run {
            i += 1;
            continue;
        }
        // digits, with single spaces or dashes between them
        let (mut end, mut digits) = (i, Vec::new());
        let mut j = i;
        while j < bytes.len() {
            if bytes[j].is_ascii_digit() {
                digits.push(bytes[j] - b'0');
                end = j + 1;
                j += 1;
            } else if matches!(bytes[j], b' ' | b'-')
                && j + 1 < bytes.len()
                && bytes[j + 1].is_ascii_digit()
                && j > i
                && bytes[j - 1].is_ascii_digit()
            {
                j += 1;
            } else {
                break;
            }
        }
        let ends_run = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
        if ends_run && (13..=19).contains(&digits.len()) && luhn(&digits) {
            out.push_str(&text[copied..i]);
            out.push_str(CARD_MASK);
            copied = end;
        }
        i = end.max(i + 1);
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// The Luhn checksum every payment card number carries.
fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The binary's log writer: stderr, each event masked as a whole.
pub struct MaskedStderr;

/// One event's text, written masked to stderr when the event is complete.
pub struct MaskedEvent(Vec<u8>);

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for MaskedStderr {
    type Writer = MaskedEvent;

    fn make_writer(&'a self) -> Self::Writer {
        MaskedEvent(Vec::new())
    }
}

impl Write for MaskedEvent {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for MaskedEvent {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        let _ = std::io::stderr().write_all(mask(&text).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn email_addresses_are_masked_wherever_they_appear() {
        assert_eq!(
            mask("contact=ana.b+x@mail.example.com, to help@acme.test."),
            "contact=<email>, to <email>."
        );
        assert_eq!(
            mask("ticket for \"Ana <ana@ex.co>\""),
            "ticket for \"Ana <<email>>\""
        );
        for kept in [
            "no address here",
            "user@localhost",
            "@handle",
            "a @ b.c",
            "x@.com",
        ] {
            assert_eq!(mask(kept), kept);
        }
    }

    #[test]
    fn card_like_numbers_are_masked_and_other_numbers_kept() {
        // the standard test card numbers
        assert_eq!(
            mask("card 4111 1111 1111 1111 declined"),
            "card <card number> declined"
        );
        assert_eq!(mask("4242-4242-4242-4242"), "<card number>");
        assert_eq!(mask("n=5555555555554444;"), "n=<card number>;");
        for kept in [
            "4111 1111 1111 1112", // fails the checksum
            "order 123456789012",  // 12 digits
            "T-4111111111111111X", // part of a word
            "took 1234 ms over 5678 ms",
        ] {
            assert_eq!(mask(kept), kept);
        }
    }
}
