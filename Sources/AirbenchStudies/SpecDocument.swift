import Foundation
import Yams

/// A sweep spec's YAML text as plain values, with the line of every key and list item so that errors can point
/// at it.
///
/// The values are what the rest of the resolution reads and `JSONSerialization` writes: `[String: Any]`, `[Any]`,
/// `String`, `Int`, `Double` and `Bool`. YAML's pitfalls are settled here, once:
/// - Plain scalars follow the YAML 1.2 core schema (`CoreSchema`): only `true` and `false` are booleans, so a
///   configuration named `no` or `off` stays a string; `4` is an integer, `9.9` and `1e-3` are floats. Quoted
///   and block scalars are strings.
/// - A key given twice in one mapping is an error (Yams finds it), and so is a key that is not a string: a number,
///   `true`, null, a list or a mapping (quote it if it is a name).
/// - Null (`~`, `null`, or a key with nothing after it) is an error: no setting takes it, and it is almost always
///   a value left out. So are `.inf` and `.nan` (results and logs are JSON, which has neither), integers beyond
///   64 bits, and explicit tags other than `!!str` (`!!int 4`, `!custom`): plain values say the same.
/// - Aliases are refused, and nesting is bounded, before Yams composes the text (`SpecEventCheck`).
/// - The text holds one document, whose top level is a mapping.
struct SpecDocument {
    /// The top-level mapping.
    var root: [String: Any]
    /// The line of each key (and list item) by its path from the root, list items by their index:
    /// `["configuration", "2", "set", "cutout"]`.
    var lines: [[String]: Int]

    /// Reads `text`; `file` names it in errors.
    /// - Throws: `StudyError` with the line where one is known.
    init(_ text: String, file: String) throws {
        func fail(_ message: String, line: Int?) -> StudyError { StudyError(file: file, line: line, message: message) }
        if let problem = SpecEventCheck.problem(in: text) { throw fail(problem.message, line: problem.line) }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text, .basic, .default, .utf8)
        } catch let error as YamlError {
            let (line, message) = Self.describe(error)
            throw fail(message, line: line)
        }
        guard let node else { throw fail("the spec is empty (it needs at least `name` and `seeds`)", line: nil) }
        guard case let .mapping(mapping) = node else {
            // A TOML spec (`name = "x"` lines) reads as one long plain string.
            let toml = node.scalar?.string.contains(" = ") == true ? "; specs are no longer TOML (key = value): see studies/README.md" : ""
            throw fail("the spec must be a mapping of keys to values (name: …, seeds: …), not a single value or a list\(toml)",
                       line: node.mark?.line)
        }
        var converter = Converter(file: file)
        root = try converter.object(mapping, node, at: [])
        lines = converter.lines
    }

    /// The line of the key or item at `path`, or of the nearest enclosing one that has a line.
    func line(_ path: [String]) -> Int? {
        var path = path
        while !path.isEmpty {
            if let line = lines[path] { return line }
            path.removeLast()
        }
        return nil
    }

    /// `keys` of the mapping at `path` in the order the file gives them.
    func inFileOrder<Keys: Sequence<String>>(_ keys: Keys, under path: [String]) -> [String] {
        keys.sorted { (lines[path + [$0]] ?? 0, $0) < (lines[path + [$1]] ?? 0, $1) }
    }

    /// The entries of `mapping`, found at `path`, in file order, each with its own path.
    func entries(_ mapping: [String: Any], under path: [String]) -> [(key: String, value: Any, path: [String])] {
        inFileOrder(mapping.keys, under: path).map { ($0, mapping[$0]!, path + [$0]) }
    }

    /// Yams' error as a line and one line of text (its own description spans several lines, with a snippet).
    static func describe(_ error: YamlError) -> (line: Int?, message: String) {
        func located(_ context: YamlError.Context?, _ problem: String, _ mark: Mark) -> (Int?, String) {
            guard let context else { return (mark.line, "\(problem), column \(mark.column)") }
            // libyaml's context says what it was reading when it hit the problem, and where that began. A key
            // without its ':' is noticed at the start of the next line (a simple key cannot span lines), and a
            // string left open at the end of the text: the line to show is where the key or string began.
            if context.text == "while scanning a simple key" || problem == "found unexpected end of stream" {
                return (context.mark.line, "\(problem) (\(context.text) that begins here, column \(context.mark.column))")
            }
            let within = "\(context.text) from line \(context.mark.line), column \(context.mark.column)"
            return (mark.line, "\(problem), column \(mark.column) (\(within))")
        }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            return located(context, problem, mark)
        case let .reader(problem, offset, value, yaml):
            let character = value >= 0 ? String(format: " (U+%04X)", value) : ""
            return (offset.map { lineOfCharacter(at: $0, in: yaml) }, "\(problem)\(character)")
        case let .duplicatedKeysInMapping(duplicates, context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return (context.mark.line, "\(keys) given more than once in one mapping (the first time here)")
        default:
            return (nil, "cannot read the YAML (\(error))")
        }
    }

    /// The 1-based line of the character at `offset`, counting line breaks as libyaml does (so that the line
    /// agrees with those of its other errors): LF, CR, CR LF, NEL, LS and PS.
    static func lineOfCharacter(at offset: Int, in text: String) -> Int {
        1 + text.prefix(offset).filter { ["\n", "\r", "\r\n", "\u{85}", "\u{2028}", "\u{2029}"].contains($0) }.count
    }
}

/// Turns composed nodes into values, recording lines.
private struct Converter {
    let file: String
    var lines: [[String]: Int] = [:]

    func fail(_ message: String, _ node: Node) -> StudyError {
        StudyError(file: file, line: node.mark?.line, message: message)
    }

    /// `node`'s value; `name` says in errors which it is: `'seeds'`, or `item 2 of 'flip'`.
    mutating func value(_ node: Node, at path: [String], name: String) throws -> Any {
        switch node {
        case let .scalar(scalar):
            return try value(scalar, node, name: name)
        case let .sequence(sequence):
            try checkTag(sequence.tag, node)
            return try sequence.enumerated().map { index, item in
                let itemPath = path + [String(index)]
                lines[itemPath] = item.mark?.line
                return try value(item, at: itemPath, name: "item \(index + 1) of \(name)")
            }
        case let .mapping(mapping):
            return try object(mapping, node, at: path)
        case .alias:
            // Yams resolves aliases while composing; SpecEventCheck refused them before that.
            throw fail("aliases (*name) are not supported in sweep specs", node)
        }
    }

    mutating func object(_ mapping: Node.Mapping, _ node: Node, at path: [String]) throws -> [String: Any] {
        try checkTag(mapping.tag, node)
        var object = [String: Any]()
        for (keyNode, valueNode) in mapping {
            let key = try self.key(keyNode)
            lines[path + [key]] = keyNode.mark?.line
            object[key] = try value(valueNode, at: path + [key], name: "'\(key)'")
        }
        return object
    }

    func value(_ scalar: Node.Scalar, _ node: Node, name: String) throws -> Any {
        try checkTag(scalar.tag, node)
        guard scalar.style == .plain, scalar.tag.rawValue.isEmpty else { return scalar.string }
        switch CoreSchema.resolve(scalar.string) {
        case let .string(string): return string
        case let .bool(bool): return bool
        case let .int(int?): return int
        case let .float(float) where float.isFinite: return float
        case .null: throw fail("\(name) has no value (null)", node)
        case .int(nil): throw fail("\(name): \(scalar.string) does not fit in a 64-bit integer", node)
        case .float: throw fail("\(name): \(scalar.string) is not a finite number", node)
        }
    }

    /// A key must be a string: a quoted scalar, or a plain one that the core schema reads as one.
    func key(_ node: Node) throws -> String {
        guard case let .scalar(scalar) = node else {
            throw fail("a key must be a name, not a list or a mapping", node)
        }
        try checkTag(scalar.tag, node)
        if scalar.style == .plain, CoreSchema.resolve(scalar.string) != .string(scalar.string) {
            throw fail("the key '\(scalar.string)' is not a name (quote it if it is one)", node)
        }
        return scalar.string
    }

    /// Only the implicit tag, and `!!str` on scalars (which Yams also gives quoted scalars, and keys once it has
    /// compared them).
    func checkTag(_ tag: Tag, _ node: Node) throws {
        let name = tag.rawValue
        guard name.isEmpty || (name == Tag.Name.str.rawValue && node.scalar != nil) else {
            let shown = name.replacingOccurrences(of: "tag:yaml.org,2002:", with: "!!")
            throw fail("tags such as \(shown) are not supported: write the value plainly, or quote a string", node)
        }
    }
}
