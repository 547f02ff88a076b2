// CYaml is Yams' own copy of libyaml, a target of the Yams package that SwiftPM builds for it and makes visible
// to its dependents. Yams composes whole documents and offers no event stream, which this check needs.
import CYaml

/// Limits checked on libyaml's event stream before Yams composes a spec, for what composing would cost:
/// - Aliases (`*name`) are refused. Yams resolves an alias to the anchored node itself, so nested aliases (the
///   "billion laughs") make a small file stand for an exponentially large value; and Yams hashes every mapping
///   key in full to find duplicates, so one aliased key (`? *big`) already takes exponential time inside the
///   compose, before any bound of ours could apply. Specs are short enough to write out.
/// - Collections nest at most `maximumDepth` deep: Yams composes (and Swift frees) nodes recursively, so
///   thousands of `[` would overflow the stack. A spec needs five levels.
///
/// Syntax errors are not this check's business: it stops at the first one, and Yams, composing the same text,
/// reports it.
enum SpecEventCheck {
    static let maximumDepth = 32

    /// What is wrong, and on which line (libyaml's count, as in Yams' errors).
    struct Problem: Equatable {
        var line: Int
        var message: String
    }

    /// The first alias or over-deep collection in `text`, nil if none (or if a syntax error comes first).
    static func problem(in text: String) -> Problem? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return nil }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var depth = 0
            var event = yaml_event_t()
            while yaml_parser_parse(&parser, &event) == 1 {
                defer { yaml_event_delete(&event) }
                let line = Int(event.start_mark.line) + 1
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return nil
                case YAML_ALIAS_EVENT:
                    return Problem(line: line, message: "aliases (*name) are not supported in sweep specs: write the value out")
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    depth += 1
                    if depth > maximumDepth {
                        return Problem(line: line, message: "lists and mappings nest more than \(maximumDepth) levels deep")
                    }
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    depth -= 1
                default:
                    break
                }
            }
            return nil
        }
    }
}
