/// What a plain (unquoted) YAML scalar means under the YAML 1.2 core schema, the one spec files are read with.
///
/// YAML 1.1 (and PyYAML, and Yams' default resolver) also read `yes`, `no`, `on`, `off`, `y` and `n` as booleans,
/// `1_000` and `0b101` as integers, `012` as octal and `2024-01-01` as a date: a configuration or data set
/// named `no` would silently become `false`. The core schema keeps those strings. Only these are not strings:
/// - `true`, `True`, `TRUE`, `false`, `False`, `FALSE`: booleans;
/// - `~`, `null`, `Null`, `NULL` and nothing at all: null;
/// - `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+`: integers (`012` is twelve);
/// - `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`: floats (`9.9`, `1e-3`, `5.`), and `.inf`, `-.inf`,
///   `.nan` in their three spellings.
enum CoreSchema {
    /// A plain scalar's value.
    enum Value: Equatable {
        case string(String)
        case bool(Bool)
        case null
        /// An integer, nil when it does not fit in 64 bits.
        case int(Int?)
        case float(Double)
    }

    static func resolve(_ text: String) -> Value {
        switch text {
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case "", "~", "null", "Null", "NULL": return .null
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .float(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .float(-.infinity)
        case ".nan", ".NaN", ".NAN": return .float(.nan)
        default: break
        }
        let scalars = Array(text.unicodeScalars)
        let digits = scalars.drop { $0 == "+" || $0 == "-" }
        if scalars.count - digits.count <= 1, !digits.isEmpty, digits.allSatisfy(isDigit) {
            // Int("+12") and Int("-12") parse; leading zeros are decimal.
            return .int(Int(text))
        }
        for (prefix, radix) in [("0o", 8), ("0x", 16)] where text.hasPrefix(prefix) && text.count > 2 {
            let body = String(text.dropFirst(2))
            if body.unicodeScalars.allSatisfy({ radix == 8 ? ("0"..."7").contains($0) : $0.properties.isASCIIHexDigit }) {
                return .int(Int(body, radix: radix))
            }
        }
        if isFloat(digits), scalars.count - digits.count <= 1, let value = Double(text) {
            return .float(value)
        }
        return .string(text)
    }

    static func isDigit(_ c: Unicode.Scalar) -> Bool { ("0"..."9").contains(c) }

    /// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, without the sign.
    static func isFloat(_ s: ArraySlice<Unicode.Scalar>) -> Bool {
        var i = s.startIndex
        func digits() -> Int {
            let start = i
            while i < s.endIndex, isDigit(s[i]) { i += 1 }
            return i - start
        }
        let whole = digits()
        if i < s.endIndex, s[i] == "." {
            i += 1
            guard digits() > 0 || whole > 0 else { return false }
        } else if whole == 0 {
            return false
        }
        if i < s.endIndex, s[i] == "e" || s[i] == "E" {
            i += 1
            if i < s.endIndex, s[i] == "+" || s[i] == "-" { i += 1 }
            guard digits() > 0 else { return false }
        }
        return i == s.endIndex
    }
}
