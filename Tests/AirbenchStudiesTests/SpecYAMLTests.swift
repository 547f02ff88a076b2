import AirbenchStudies
import Foundation
import XCTest

/// YAML's pitfalls, settled once for every spec: the core schema's scalars, duplicate and non-string keys,
/// aliases, nulls, the shape of the document. Every error is one line with the line at fault.
final class SpecYAMLTests: XCTestCase {
    func message(_ text: String) -> String {
        do { _ = try SweepSpec.parse(text, file: "x.yaml"); return "" } catch { return "\(error)" }
    }

    /// YAML 1.2's core schema, not 1.1's: `no`, `yes`, `on`, `off` are strings; only true/false are booleans.
    func testOnlyTrueAndFalseAreBooleans() throws {
        let spec = try SweepSpec.parse("""
            name: no
            description: yes
            seeds: 1
            configuration:
              - name: off
                set: {lookahead: False, diracInit: TRUE}
              - name: on
              - name: n
            """)
        XCTAssertEqual(spec.name, "no")
        XCTAssertEqual(spec.description, "yes")
        XCTAssertEqual(spec.configurations.map(\.name), ["off", "on", "n"])
        XCTAssertEqual(spec.configurations[0].overrides["lookahead"] as? Bool, false)
        XCTAssertEqual(spec.configurations[0].overrides["diracInit"] as? Bool, true)
        XCTAssertFalse(spec.configurations[0].hyperparameters.lookahead)
        XCTAssertTrue(message("name: a\nseeds: 1\nset:\n  lookahead: off").hasPrefix("x.yaml:4: set: 'lookahead' needs a value of type Bool"),
                      message("name: a\nseeds: 1\nset:\n  lookahead: off"))
    }

    /// `4` is an integer; `9.9`, `1e-3`, `1e1` and `5.` are floats; `012` is twelve and `0x10` sixteen; `1_000`
    /// and `2024-01-01` are strings.
    func testIntegersAndFloats() throws {
        let spec = try SweepSpec.parse("""
            name: a
            seeds: 1
            set: {whiteningImages: 0x10, batchSize: 012}
            grid:
              trainEpochs: [4, 9.9, 1e1, 5., +1.5e+1]
              learningRate: [1e-3]
            """)
        XCTAssertEqual(spec.configurations.map(\.name), [
            "learningRate=0.001,trainEpochs=4", "learningRate=0.001,trainEpochs=9.9", "learningRate=0.001,trainEpochs=10",
            "learningRate=0.001,trainEpochs=5", "learningRate=0.001,trainEpochs=15",
        ])
        let values = spec.configurations.map { $0.overrides["trainEpochs"]! }
        XCTAssertEqual(values[0] as? Int, 4)
        XCTAssertNil(values[0] as? Double)
        XCTAssertEqual(values[1] as? Double, 9.9)
        XCTAssertEqual(values[2] as? Double, 10)
        XCTAssertEqual(values[3] as? Double, 5)
        XCTAssertEqual(spec.configurations[0].overrides["learningRate"] as? Double, 0.001)
        XCTAssertEqual(spec.configurations[0].hyperparameters.whiteningImages, 16)
        XCTAssertEqual(spec.configurations[0].hyperparameters.batchSize, 12)
        let underscore = message("name: a\nseeds: 1\nset:\n  batchSize: 1_000")
        XCTAssertTrue(underscore.hasPrefix("x.yaml:4: set: 'batchSize' needs a value of type Int"), underscore)
        XCTAssertEqual(message("name: a\nseeds: 99999999999999999999"), "x.yaml:2: 'seeds': 99999999999999999999 does not fit in a 64-bit integer")
        XCTAssertEqual(message("name: a\nseeds: 2\nset:\n  momentum: .nan"), "x.yaml:4: 'momentum': .nan is not a finite number")
        XCTAssertEqual(message("name: a\nseeds: 2\nset:\n  momentum: -.Inf"), "x.yaml:4: 'momentum': -.Inf is not a finite number")
        XCTAssertEqual(message("name: a\nseeds: 2\ngrid:\n  momentum: [0.9, 1e999]"), "x.yaml:4: item 2 of 'momentum': 1e999 is not a finite number")
        // Quoted, a number is a string.
        XCTAssertTrue(message("name: a\nseeds: '2'").hasPrefix("x.yaml:2: 'seeds' must be a positive count"))
    }

    func testAKeyGivenTwiceIsAnError() {
        XCTAssertEqual(message("name: a\nseeds: 2\nseeds: 3"), "x.yaml:2: 'seeds' given more than once in one mapping (the first time here)")
        XCTAssertEqual(message("name: a\nseeds: 2\nset:\n  cutout: 1\n  trainEpochs: 2\n  'cutout': 2"),
                       "x.yaml:4: 'cutout' given more than once in one mapping (the first time here)")
        XCTAssertEqual(message("name: a\nseeds: 2\ndataset: {name: svhn, name: cifar10}"),
                       "x.yaml:3: 'name' given more than once in one mapping (the first time here)")
    }

    func testKeysAreNames() {
        for (key, expected) in [("1", "the key '1' is not a name"), ("true", "the key 'true' is not a name"),
                                ("~", "the key '~' is not a name"), ("1.5", "the key '1.5' is not a name"),
                                ("[a]", "a key must be a name, not a list or a mapping"),
                                ("? {a: 1}\n", "a key must be a name, not a list or a mapping")] {
            XCTAssertTrue(message("name: a\nseeds: 2\n\(key): x").hasPrefix("x.yaml:3: \(expected)"), message("name: a\nseeds: 2\n\(key): x"))
        }
        // Quoted, it is a name (and here an unknown one); `on` and `no` are names as they are.
        XCTAssertTrue(message("name: a\nseeds: 2\n'1': x").hasPrefix("x.yaml:3: unknown key '1'"))
        XCTAssertTrue(message("name: a\nseeds: 2\non: x").hasPrefix("x.yaml:3: unknown key 'on'"))
        // A key holding a line break is quoted in the message on one line.
        XCTAssertTrue(message("name: a\nseeds: 2\n\"a\\nb\": 1").hasPrefix(#"x.yaml:3: unknown key 'a\nb'"#), message("name: a\nseeds: 2\n\"a\\nb\": 1"))
    }

    /// Aliases are refused where they stand, before Yams composes the text: a "billion laughs" (here an aliased
    /// key of 10⁸ values, which Yams would hash in full: about 20 s) costs nothing.
    func testAliasesAreRefused() {
        XCTAssertEqual(message("name: a\nseeds: 2\nset: &shared {cutout: 1}\nconfiguration:\n  - name: b\n    set: *shared"),
                       "x.yaml:6: aliases (*name) are not supported in sweep specs: write the value out")
        var laughs = "name: a\nseeds: 1\nl0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...7 { laughs += "l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ") + "]\n" }
        laughs += "k:\n  ? *l7\n  : 1\n"
        let started = Date()
        XCTAssertEqual(message(laughs), "x.yaml:4: aliases (*name) are not supported in sweep specs: write the value out")
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        // An anchor that nothing refers to is harmless.
        XCTAssertEqual(message("name: &n a\nseeds: 2"), "")
    }

    func testNullsTagsAndNesting() {
        XCTAssertEqual(message("name: a\nseeds:"), "x.yaml:2: 'seeds' has no value (null)")
        XCTAssertEqual(message("name: a\nseeds: ~\n"), "x.yaml:2: 'seeds' has no value (null)")
        XCTAssertEqual(message("name: a\nseeds: [1, null]"), "x.yaml:2: item 2 of 'seeds' has no value (null)")
        XCTAssertEqual(message("name: a\nseeds: 2\nset:\n  widths: {block1: 8, \"2\": ~}"), "x.yaml:4: '2' has no value (null)")
        XCTAssertEqual(message("name: a\nseeds: 2\ngrid:\n  cutout: [[0], [1, ~]]"), "x.yaml:4: item 2 of item 2 of 'cutout' has no value (null)")
        XCTAssertEqual(message("name: a\nseeds: !!int 4"),
                       "x.yaml:2: tags such as !!int are not supported: write the value plainly, or quote a string")
        XCTAssertEqual(message("name: a\nseeds: 2\nset: !!map {cutout: 1}"),
                       "x.yaml:3: tags such as !!map are not supported: write the value plainly, or quote a string")
        XCTAssertEqual(try SweepSpec.parse("name: !!str 4\nseeds: 1").name, "4")
        // Yams composes nested nodes recursively: deep nesting is refused before it, with a line (past 1,000
        // levels libyaml itself refuses it).
        // 32 levels, counting the top level and `set`.
        let deep = "name: a\nseeds: 2\nset:\n  cutout: " + String(repeating: "[", count: 31)
        XCTAssertEqual(message(deep), "x.yaml:4: lists and mappings nest more than 32 levels deep")
        XCTAssertEqual(message("name: a\nseeds: 2\nset:\n  cutout: " + String(repeating: "[", count: 30) + "1" + String(repeating: "]", count: 30)),
                       "x.yaml:4: set: 'cutout' needs a value of type Int")
        let deeper = message("name: a\nseeds: 2\nset:\n  cutout: " + String(repeating: "[", count: 100_000))
        XCTAssertTrue(deeper.hasPrefix("x.yaml:4: ") && !deeper.contains("\n"), deeper)
    }

    /// The text is one document whose top level is a mapping.
    func testTheDocumentsShape() {
        XCTAssertEqual(message(""), "x.yaml: the spec is empty (it needs at least `name` and `seeds`)")
        XCTAssertEqual(message("# nothing yet\n\n"), "x.yaml: the spec is empty (it needs at least `name` and `seeds`)")
        for text in ["[name, seeds]", "just text", "- name: a\n- seeds: 1", "42"] {
            XCTAssertEqual(message(text), "x.yaml:1: the spec must be a mapping of keys to values (name: …, seeds: …), not a single value or a list",
                           text)
        }
        XCTAssertEqual(message("name = \"a\"\nseeds = 2\n[set]\ntrainEpochs = 2\n"),
                       "x.yaml:1: the spec must be a mapping of keys to values (name: …, seeds: …), not a single value or a list; "
                       + "specs are no longer TOML (key = value): see studies/README.md")
        XCTAssertTrue(message("name: a\nseeds: 2\n---\nname: b\n").hasPrefix("x.yaml:3: but found another document"),
                      message("name: a\nseeds: 2\n---\nname: b\n"))
        // Characters YAML refuses are errors on their line (libyaml counts CR LF as one line break).
        XCTAssertEqual(message("name: a\r\nseeds: 2\r\ncutout: \u{1}"), "x.yaml:3: control characters are not allowed (U+0001)")
        XCTAssertTrue(message("name: a\n\tseeds: 2").hasPrefix("x.yaml:2: found a tab character that violates indentation"))
    }
}
