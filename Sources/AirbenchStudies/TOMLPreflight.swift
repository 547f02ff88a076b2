/// A guard in front of the TOML parser: the toml++ inside TOMLKit 0.6 (the version SwiftPM has here) aborts the
/// process, through an assertion (or undefined behaviour where assertions are off), on two kinds of malformed
/// input that our fuzzer found (Fuzz/ sweepspec):
/// - a table header whose key does not start with a key character: `[,2]`, `[[[a]]]`, `[&`
///   (marzer/tomlplusplus issue 294, fixed upstream by pull request 301);
/// - an array element that starts with `}` or a Unicode line separator (U+0085, U+2028, U+2029): `a = [}`
///   (`parse_value`'s precondition, unchecked by `parse_array`); those separators are refused anywhere outside
///   strings and comments, where TOML never allows them;
/// - a number-like value followed by a space, a digit and the value's end: `a = 2024-01-0x 4 ` (its look-ahead
///   for a date and time separated by a space asserts on what follows the digit).
/// This scan finds them before the text reaches toml++, so such a file gets an error message instead of a crash.
/// The third rule also refuses valid dates with a space before the time: specs hold no dates.
enum TOMLPreflight {
    /// What is wrong, and on which line.
    struct Problem: Equatable {
        var line: Int
        var message: String
    }

    /// The first line holding a table header whose key starts with a character that cannot start a key (a
    /// bare-key character `A-Za-z0-9_-` or a quote), or an array element starting with `}`; nil if none.
    ///
    /// Headers are `[` or `[[` at the start of a line outside any string, array or inline table; the scan
    /// follows TOML's strings (basic, literal and their multi-line forms, with escapes), comments and brackets
    /// so that brackets inside values are not taken for headers.
    static func problem(in text: String) -> Problem? {
        let scalars = text.unicodeScalars.map(\.value)
        var i = 0, line = 1, atLineStart = true, expectElement = false, expectValue = false
        var open: [UInt32] = []  // the brackets of the values being read: [ or {
        func at(_ k: Int) -> UInt32? { k < scalars.count ? scalars[k] : nil }
        func startsKey(_ c: UInt32?) -> Bool {
            guard let c else { return false }
            return (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39)
                || c == 0x5F || c == 0x2D || c == 0x22 || c == 0x27
        }
        func skipHorizontalWhitespace() { while let c = at(i), isHorizontalWhitespace(c) { i += 1 } }
        /// Skips a string starting at `i` (on its opening quote); counts the lines it spans.
        func skipString() {
            let quote = scalars[i]
            let multiline = at(i + 1) == quote && at(i + 2) == quote
            i += multiline ? 3 : 1
            while i < scalars.count {
                let c = scalars[i]
                if c == 0x0A { line += 1; if !multiline { return } }
                if c == 0x5C && quote == 0x22 { i += 2; continue }  // an escape in a basic string
                if c == quote && (!multiline || (at(i + 1) == quote && at(i + 2) == quote)) {
                    i += multiline ? 3 : 1
                    // A multi-line string may end in up to two more quotes that belong to it.
                    while multiline && at(i) == quote { i += 1 }
                    return
                }
                i += 1
            }
        }
        while i < scalars.count {
            let c = scalars[i]
            if c == 0x0A {
                line += 1
                atLineStart = true
                i += 1
                continue
            }
            if isHorizontalWhitespace(c) || c == 0x0D {
                i += 1
                continue
            }
            if (expectValue || expectElement) && (isDigit(c) || c == 0x2B || c == 0x2D) {
                var j = i
                while let d = at(j), !isValueTerminator(d) { j += 1 }
                if at(j) == 0x20, let next = at(j + 1), isDigit(next) {
                    return Problem(line: line, message: "a value followed by a space and a digit (specs hold no dates or times)")
                }
            }
            if c != 0x5B && c != 0x7B { expectValue = false }
            switch c {
            case 0x3D:  // '=': a value follows
                i += 1
                expectValue = true
                expectElement = false
                atLineStart = false
                continue
            case 0x23:  // a comment, to the end of the line
                while i < scalars.count && scalars[i] != 0x0A { i += 1 }
                continue
            case 0x7D where expectElement:
                return Problem(line: line, message: "an array element cannot start with '}'")
            case 0x85, 0x2028, 0x2029:
                // Never valid TOML outside strings and comments; toml++ aborts on one starting an array element.
                return Problem(line: line, message: "a Unicode line separator (U+0085, U+2028 or U+2029) outside a string")
            case 0x22, 0x27:
                skipString()
            case 0x5B where atLineStart && open.isEmpty:  // a table header
                i += 1
                skipHorizontalWhitespace()
                if at(i) == 0x5B { i += 1 }
                skipHorizontalWhitespace()
                guard startsKey(at(i)) else {
                    return Problem(line: line, message: "a table header must start with a key (a letter, digit, _, - or a quote)")
                }
                while i < scalars.count && scalars[i] != 0x0A { i += 1 }  // a header is one line
                continue
            case 0x5B, 0x7B:
                open.append(c)
                i += 1
                expectElement = c == 0x5B
                expectValue = false
                atLineStart = false
                continue
            case 0x5D, 0x7D:
                if !open.isEmpty { open.removeLast() }
                i += 1
            case 0x2C:
                i += 1
                expectElement = open.last == 0x5B
                atLineStart = false
                continue
            default:
                i += 1
            }
            atLineStart = false
            expectElement = false
        }
        return nil
    }

    static func isDigit(_ c: UInt32) -> Bool { c >= 0x30 && c <= 0x39 }

    /// What ends a bare value for toml++: any whitespace (line breaks included), `]`, `}`, `,` or `#`.
    static func isValueTerminator(_ c: UInt32) -> Bool {
        isHorizontalWhitespace(c) || (0x0A...0x0D).contains(c) || c == 0x85 || c == 0x2028 || c == 0x2029
            || c == 0x5D || c == 0x7D || c == 0x2C || c == 0x23
    }

    /// toml++'s horizontal whitespace: tab, space and the Unicode spaces it also skips (a byte-order mark among
    /// them), so that the scan sees a header where toml++ does.
    static func isHorizontalWhitespace(_ c: UInt32) -> Bool {
        c == 0x09 || c == 0x20 || c == 0xA0 || c == 0x1680 || c == 0x180E || (0x2000...0x200B).contains(c)
            || c == 0x202F || c == 0x205F || c == 0x2060 || c == 0x3000 || c == 0xFEFF
    }
}
