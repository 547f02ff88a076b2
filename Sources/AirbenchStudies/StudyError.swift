/// The studies layer's one error: a spec that cannot be read or resolved (`FILE:LINE: message`, or `FILE: message`
/// where no line applies), a sweep that cannot run, results that cannot be read, a fit that cannot be made. Its
/// message names the spec, folder or file, the key or configuration at fault.
public struct StudyError: Error, CustomStringConvertible, Equatable {
    /// The spec (or other file) at fault, when the message is about one.
    public var file: String?
    /// The line of the key or value at fault (1-based, as libyaml counts them), when there is one.
    public var line: Int?
    public var message: String

    public init(file: String, line: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    /// An error whose message names what it is about itself (a folder, a result file, a configuration).
    public init(_ message: String) {
        file = nil
        line = nil
        self.message = message
    }

    /// Always one line: line breaks a message quotes from the spec (a key or value holding one) are escaped.
    public var description: String {
        let text = file.map { "\($0)\(line.map { ":\($0)" } ?? ""): " }.map { $0 + message } ?? message
        let breaks: Set<Unicode.Scalar> = ["\n", "\u{0B}", "\u{0C}", "\r", "\u{85}", "\u{2028}", "\u{2029}"]
        return text.unicodeScalars.map { breaks.contains($0) ? $0.escaped(asASCII: true) : String($0) }.joined()
    }
}
