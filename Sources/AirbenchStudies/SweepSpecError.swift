/// A spec that cannot be read or resolved: `FILE:LINE: message`, or `FILE: message` where no line applies.
public struct SweepSpecError: Error, CustomStringConvertible, Equatable {
    public var file: String
    /// The line of the key or value at fault (1-based, as libyaml counts them), when there is one.
    public var line: Int?
    public var message: String

    public init(file: String, line: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    /// Always one line: line breaks a message quotes from the spec (a key or value holding one) are escaped.
    public var description: String {
        let text = "\(file)\(line.map { ":\($0)" } ?? ""): \(message)"
        let breaks: Set<Unicode.Scalar> = ["\n", "\u{0B}", "\u{0C}", "\r", "\u{85}", "\u{2028}", "\u{2029}"]
        return text.unicodeScalars.map { breaks.contains($0) ? $0.escaped(asASCII: true) : String($0) }.joined()
    }
}
